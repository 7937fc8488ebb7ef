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

// TestPolicyLogSame writes the same policy changes to SQLite (read-only
// open, as the dashboard has it) and ClickHouse and reads the same
// history back from both.
func TestPolicyLogSame(t *testing.T) {
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
	chdb := openCH(t, srv.URL("outflow_policylog"))
	defer chdb.Close()

	changes := []store.PolicyChange{
		{Time: base, User: "ana", Comment: "ban TikTok for staff", File: "/etc/outflow/policy.yaml",
			Before: "rules: []\n", After: "rules:\n  - id: tiktok\n", Diff: "-rules: []\n+rules:\n+  - id: tiktok\n"},
		{Time: base.Add(time.Hour), User: "bo", Comment: "undo: wrong group", File: "/etc/outflow/policy.yaml",
			Before: "rules:\n  - id: tiktok\n", After: "rules: []\n", Diff: "+rules: []\n", Reverts: 1},
	}
	for name, pl := range map[string]store.PolicyLog{"sqlite": lite, "clickhouse": chdb} {
		for i := range changes {
			c := changes[i]
			if err := pl.WritePolicyChange(ctx, &c); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if c.ID != int64(i+1) {
				t.Fatalf("%s: change %d got id %d", name, i, c.ID)
			}
		}
	}
	var lists [2][]store.PolicyChange
	for i, pl := range []store.PolicyLog{lite, chdb} {
		got, err := pl.PolicyChanges(ctx, store.Filter{Since: base.Add(-time.Hour), Until: base.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != 2 || got[0].Reverts != 1 || got[1].User != "ana" || got[0].Before != "" || got[1].Diff != changes[0].Diff {
			t.Fatalf("backend %d: history %+v", i, got)
		}
		lists[i] = got
		// The period applies.
		if got, _ := pl.PolicyChanges(ctx, store.Filter{Since: base.Add(time.Minute), Until: base.Add(2 * time.Hour)}); len(got) != 1 || got[0].ID != 2 {
			t.Fatalf("backend %d: history of the last hour %+v", i, got)
		}
		one, err := pl.PolicyChange(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := changes[0]
		want.ID = 1
		if d := gocmp.Diff(&want, one); d != "" {
			t.Fatalf("backend %d: change 1 (-want +got):\n%s", i, d)
		}
		if _, err := pl.PolicyChange(ctx, 9); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("backend %d: absent change: %v", i, err)
		}
	}
	if d := gocmp.Diff(lists[0], lists[1]); d != "" {
		t.Fatalf("SQLite and ClickHouse histories differ (-sqlite +clickhouse):\n%s", d)
	}
}
