package policysync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

const (
	v1 = "rules:\n  - {id: one, action: block, names: [one.example]}\n"
	v2 = "rules:\n  - {id: two, action: block, names: [two.example]}\n"
)

// dashboard stores changes as the dashboard does: through a store opened
// read-only, on the same SQLite file as the process that syncs.
type dashboard struct {
	t  *testing.T
	pl store.PolicyLog
}

func (d dashboard) save(after string) int64 {
	d.t.Helper()
	c := &store.PolicyChange{Time: time.Now().UTC(), User: "admin", Comment: "test", File: "/elsewhere/policy.yaml", After: after}
	if err := d.pl.WritePolicyChange(context.Background(), c); err != nil {
		d.t.Fatal(err)
	}
	return c.ID
}

// validate stands for the process's check: a policy naming "broken" does
// not load.
func validate(_ string, b []byte) error {
	if strings.Contains(string(b), "broken") {
		return errors.New("p.yaml:2: broken")
	}
	return nil
}

func TestSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "outflow.db")
	// The syncing process (a resolver) holds the store read-write ...
	rw, err := backend.Open(ctx, store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	// ... and the dashboard's process writes the history.
	ro, err := backend.OpenReadOnly(ctx, store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	dash := dashboard{t, ro.(store.PolicyLog)}

	path := filepath.Join(dir, "policy.yaml")
	local := "rules:\n  - {id: local, action: block, names: [local.example]}\n"
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := 0
	s := New(Config{Path: path}, Deps{Store: rw.(store.PolicyLog), Validate: validate, Changed: func() { changed++ }})
	file := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	step := func(name string, wantWritten bool, wantErr string, wantFile string) {
		t.Helper()
		written, err := s.Sync(ctx)
		if written != wantWritten || (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: written %v, err %v; want %v, %q", name, written, err, wantWritten, wantErr)
		}
		if got := file(); got != wantFile {
			t.Errorf("%s: file %q, want %q", name, got, wantFile)
		}
	}
	step("no change stored: the local file stays", false, "", local)
	dash.save(v1)
	step("a change is written", true, "", v1)
	step("asked again: nothing to do", false, "", v1)
	id := dash.save("rules:\n  - {id: broken, action: block, names: [x.example]}\n")
	step("an invalid change is refused", false, "change "+strconv.FormatInt(id, 10)+" by admin", v1)
	step("and not tried again", false, "", v1)
	dash.save(v2)
	step("the next valid change is written", true, "", v2)
	if changed != 2 {
		t.Errorf("Changed called %d times, want 2", changed)
	}
	// A restart: a new syncer finds the file as the store has it.
	s = New(Config{Path: path}, Deps{Store: rw.(store.PolicyLog), Validate: validate, Changed: func() { changed++ }})
	step("after a restart, equal: not written", false, "", v2)
	// The store goes away: the file stays, and says why.
	rw.Close()
	dash.save(v1)
	step("store down", false, "policy from the store", v2)
}

func TestSyncCreatesTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rw, err := backend.Open(ctx, store.Config{Path: filepath.Join(dir, "outflow.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	pl := rw.(store.PolicyLog)
	dashboard{t, pl}.save(v1)
	path := filepath.Join(dir, "policy.yaml")
	// A backend without PolicyHead is asked through PolicyChanges.
	noHead := struct{ store.PolicyLog }{pl}
	if written, err := New(Config{Path: path}, Deps{Store: noHead}).Sync(ctx); !written || err != nil {
		t.Fatalf("written %v, err %v", written, err)
	}
	if b, _ := os.ReadFile(path); string(b) != v1 {
		t.Errorf("file %q", b)
	}
}

// TestSyncClickHouse: a dashboard and a resolver on two machines share a
// ClickHouse store, each with a connection of its own.
func TestSyncClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	open := func() *clickhouse.DB {
		cfg, err := clickhouse.ParseURL(srv.URL("outflow_policysync"), store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		db, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dash, resolver := dashboard{t, open()}, open()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	s := New(Config{Path: path}, Deps{Store: resolver, Validate: validate})
	if written, err := s.Sync(ctx); written || err != nil {
		t.Fatalf("empty history: written %v, err %v", written, err)
	}
	for _, tc := range []struct {
		after   string
		written bool
		want    string
	}{{v1, true, v1}, {"rules: [broken]\n", false, v1}, {v2, true, v2}} {
		dash.save(tc.after)
		written, err := s.Sync(ctx)
		if written != tc.written || (err == nil) != tc.written {
			t.Errorf("%q: written %v, err %v", tc.after, written, err)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.want {
			t.Errorf("%q: file %q, want %q", tc.after, b, tc.want)
		}
	}
}
