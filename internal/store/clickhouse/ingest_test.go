package clickhouse_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// TestIngestOnce: a committed input is refused the second time (unless
// again), and an abandoned ingest stores nothing and is not refused.
func TestIngestOnce(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := openCH(t, srv.URL("outflow_ingest")+"?spool="+filepath.Join(dir, "spool"))
	defer db.Close()
	fp := func(name, body string) store.Input {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := store.Fingerprint(p)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b := fp("a.pcap", "capture a"), fp("b.pcap", "capture b")
	ingest := func(in store.Input, again bool, batches int, commit bool) error {
		g, err := db.BeginIngest(ctx, []store.Input{in}, again)
		if err != nil {
			return err
		}
		for i := range batches {
			if err := g.Write(ctx, flowBatch(i, 1000)); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			return g.Commit(ctx)
		}
		return g.Close()
	}
	if err := ingest(a, false, 2, true); err != nil {
		t.Fatal(err)
	}
	if got := count(t, srv, "outflow_ingest").rows; got != 2000 {
		t.Fatalf("%d flow rows after one ingest, want 2000", got)
	}
	a2 := fp("copy-of-a.pcap", "capture a")
	err := ingest(a2, false, 1, true)
	var ie *store.IngestedError
	if !errors.As(err, &ie) || ie.Prev.Path != a.Path || !ie.Prev.First.Equal(t0) {
		t.Fatalf("second ingest of a (as a copy): %v, want IngestedError naming %s from %v", err, a.Path, t0)
	}
	if err := ingest(b, false, 3, false); err != nil { // abandoned
		t.Fatal(err)
	}
	if got := count(t, srv, "outflow_ingest").rows; got != 2000 {
		t.Fatalf("%d flow rows after an abandoned ingest, want 2000", got)
	}
	if err := ingest(b, false, 1, true); err != nil {
		t.Fatalf("an abandoned input is refused: %v", err)
	}
	if err := ingest(a, true, 1, true); err != nil {
		t.Fatalf("again: %v", err)
	}
	got := count(t, srv, "outflow_ingest")
	if got.rows != 4000 || got.rollup != 4000 {
		t.Fatalf("%+v, want 4000 rows in detail and rollup", got)
	}
	ins, err := db.Ingested(ctx)
	if err != nil || len(ins) != 3 {
		t.Fatalf("Ingested: %d inputs (%v), want 3", len(ins), err)
	}
}
