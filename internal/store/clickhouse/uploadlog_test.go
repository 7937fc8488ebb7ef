package clickhouse_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// TestUploadLogSame writes the same upload jobs, and their changes of
// state, to SQLite (read-only open, as the dashboard has it) and
// ClickHouse, and reads the same jobs back from both: the newest state
// of each, newest job first.
func TestUploadLogSame(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "outflow.db")
	w, err := sqlite.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	lite, err := sqlite.OpenReadOnly(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	chdb := openCH(t, srv.URL("outflow_uploadlog"))
	defer chdb.Close()

	var lists [2][]store.UploadJob
	for i, ul := range []store.UploadLog{lite, chdb} {
		jobs := []store.UploadJob{
			{Time: base, User: "ana", Name: "tiktok.apk", SHA256: "aa", Size: 1 << 20, State: store.UploadQueued, Path: "/tmp/outflow-upload-1.apk", Updated: base},
			{Time: base.Add(time.Minute), User: "ana", Name: "temu.apk", SHA256: "bb", Size: 2 << 20, State: store.UploadQueued, Path: "/tmp/outflow-upload-2.apk", Updated: base.Add(time.Minute)},
		}
		for k := range jobs {
			if err := ul.WriteUploadJob(ctx, &jobs[k]); err != nil {
				t.Fatalf("backend %d: %v", i, err)
			}
			if jobs[k].ID != int64(k+1) {
				t.Fatalf("backend %d: job %d got id %d", i, k, jobs[k].ID)
			}
		}
		// The first is audited, the second fails: each change a new
		// write of the whole job.
		for _, st := range []string{store.UploadAuditing, store.UploadDone} {
			jobs[0].State, jobs[0].Updated = st, jobs[0].Updated.Add(time.Second)
			if st == store.UploadDone {
				jobs[0].Path = ""
			}
			if err := ul.WriteUploadJob(ctx, &jobs[0]); err != nil {
				t.Fatal(err)
			}
		}
		jobs[1].State, jobs[1].Error, jobs[1].Path = store.UploadFailed, "not an APK", ""
		if err := ul.WriteUploadJob(ctx, &jobs[1]); err != nil {
			t.Fatal(err)
		}
		got, err := ul.UploadJobs(ctx, store.Filter{Since: base.Add(-time.Hour), Until: base.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if d := gocmp.Diff([]store.UploadJob{jobs[1], jobs[0]}, got); d != "" {
			t.Fatalf("backend %d: jobs (-want +got):\n%s", i, d)
		}
		lists[i] = got
		if got, _ := ul.UploadJobs(ctx, store.Filter{Since: base.Add(30 * time.Second), Until: base.Add(time.Hour)}); len(got) != 1 || got[0].ID != 2 {
			t.Fatalf("backend %d: jobs of the last minute %+v", i, got)
		}
		one, err := ul.UploadJob(ctx, 1)
		if err != nil || one.State != store.UploadDone || one.Path != "" || !one.Updated.Equal(base.Add(2*time.Second)) {
			t.Fatalf("backend %d: job 1 %+v %v", i, one, err)
		}
		if _, err := ul.UploadJob(ctx, 9); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("backend %d: absent job: %v", i, err)
		}
		// A new job after the updates still gets the next ID.
		j := store.UploadJob{Time: base.Add(2 * time.Minute), State: store.UploadQueued}
		if err := ul.WriteUploadJob(ctx, &j); err != nil || j.ID != 3 {
			t.Fatalf("backend %d: third job id %d %v", i, j.ID, err)
		}
	}
	if d := gocmp.Diff(lists[0], lists[1]); d != "" {
		t.Fatalf("SQLite and ClickHouse jobs differ (-sqlite +clickhouse):\n%s", d)
	}
}
