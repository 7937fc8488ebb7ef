//go:build unix

package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// Two processes writing one store (an audit beside a running sensor):
// the first keeps its rollup sums in memory, the second opens the file
// while they wait there. The second must not sum the first one's rows at
// open (the first writes them itself), and its own rows are rolled up
// with its batches: every row counts once. Then the first one dies with
// sums in memory (no Close), and the next writer recovers exactly those.
// Two handles in one test process stand for the two processes: the
// writer lock (flock) is per open file.
func TestTwoWritersCountOnce(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/two.db"
	until := store.Filter{Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	flows := func(db *DB) uint64 {
		t.Helper()
		ov, err := db.Overview(ctx, until)
		if err != nil {
			t.Fatal(err)
		}
		if len(ov.Entities) != 1 {
			t.Fatalf("overview entities %v", ov.Entities)
		}
		return ov.Entities[0].Period.Flows
	}

	a, err := OpenWith(ctx, store.Config{Path: path}, nil, Options{RollupDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if a.lock == nil {
		t.Fatal("the first writer did not take the writer lock")
	}
	if err := a.Write(ctx, crashBatch(0)); err != nil { // sums wait in a's memory
		t.Fatal(err)
	}
	b, err := OpenWith(ctx, store.Config{Path: path}, nil, Options{RollupDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if b.lock != nil || b.delay > 0 {
		t.Fatalf("the second writer holds the lock (%v) or keeps sums (delay %v)", b.lock != nil, b.delay)
	}
	if err := b.Write(ctx, crashBatch(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, crashBatch(2)); err != nil {
		t.Fatal(err)
	}
	if got := flows(a); got != 3*crashRows { // a's reads flush its sums first
		t.Errorf("after two writers: rollups count %d flows, detail rows %d", got, 3*crashRows)
	}

	// a dies with batch 3's sums in memory: the next writer recovers them
	if err := a.Write(ctx, crashBatch(3)); err != nil {
		t.Fatal(err)
	}
	a.unlock() // as a kill -9 would: no flush, no Close
	c, err := Open(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.lock == nil {
		t.Fatal("the writer lock was not taken over after the holder died")
	}
	if got := flows(c); got != 4*crashRows {
		t.Errorf("after recovery: rollups count %d flows, detail rows %d", got, 4*crashRows)
	}
	a.w.Close()
	a.r.Close()
}

// Migration 7 turns a version-6 store's marks (the last segment rolled
// up, per table) into pending ranges: a store left by a crash of an
// older build still gets the rows past its marks summed, once.
func TestMigrationKeepsUnrolledRows(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/old.db"
	a, err := OpenWith(ctx, store.Config{Path: path}, nil, Options{RollupDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, crashBatch(0)); err != nil { // rolled up with the batch
		t.Fatal(err)
	}
	var flowMark, queryMark int64
	if err := a.w.QueryRowContext(ctx, "SELECT (SELECT max(id) FROM flow_seg), (SELECT max(id) FROM query_seg)").Scan(&flowMark, &queryMark); err != nil {
		t.Fatal(err)
	}
	a.delay = time.Hour
	if err := a.Write(ctx, crashBatch(1)); err != nil { // its sums wait in memory
		t.Fatal(err)
	}
	// the file as version 6 would have left it at a crash now
	for _, q := range []string{"DROP TABLE seg_pending", "DROP TABLE upload_job",
		"INSERT INTO meta(k, v) VALUES ('rolled_flow', ?), ('rolled_query', ?)", "PRAGMA user_version = 6"} {
		args := []any{}
		if len(q) > 40 && q[:6] == "INSERT" {
			args = []any{flowMark, queryMark}
		}
		if _, err := a.w.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	a.unlock()
	a.w.Close()
	a.r.Close()

	b, err := Open(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ov, err := b.Overview(ctx, store.Filter{Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Entities) != 1 || ov.Entities[0].Period.Flows != 2*crashRows {
		t.Errorf("after migration 7: rollups %v, want %d flows", ov.Entities, 2*crashRows)
	}
	var marks int
	b.w.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE k LIKE 'rolled_%'").Scan(&marks)
	if marks != 0 {
		t.Errorf("%d old marks left in meta", marks)
	}
}

// TestWriterTakesTheLockLater: a writer that opened while another held
// the writer lock (an upload's audit while the sensor restarted) takes
// the lock once the other lets go, recovers what it left, and sums its
// rollups in memory from then on; every row is still counted once.
func TestWriterTakesTheLockLater(t *testing.T) {
	defer func(d time.Duration) { lockRetry = d }(lockRetry)
	lockRetry = 0
	ctx := context.Background()
	path := t.TempDir() + "/later.db"
	until := store.Filter{Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	audit, err := OpenWith(ctx, store.Config{Path: path}, nil, Options{RollupDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sensor, err := OpenWith(ctx, store.Config{Path: path}, nil, Options{RollupDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer sensor.Close()
	if err := sensor.Write(ctx, crashBatch(0)); err != nil {
		t.Fatal(err)
	}
	if sensor.lock != nil || sensor.delay > 0 {
		t.Fatal("the second writer took the lock while the first held it")
	}
	if err := audit.Write(ctx, crashBatch(1)); err != nil { // its sums wait in memory
		t.Fatal(err)
	}
	audit.unlock()                                                                    // it dies holding them: the lock's next holder recovers them
	t.Cleanup(func() { audit.pend, audit.pendRanges = newAgg(), nil; audit.Close() }) // what died writes nothing more
	if err := sensor.Write(ctx, crashBatch(2)); err != nil {
		t.Fatal(err)
	}
	if sensor.lock == nil || sensor.delay != time.Hour {
		t.Fatalf("the writer did not take the freed lock (held %v, delay %v)", sensor.lock != nil, sensor.delay)
	}
	ov, err := sensor.Overview(ctx, until)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Entities) != 1 || ov.Entities[0].Period.Flows != 3*crashRows {
		t.Fatalf("rollups %v, want %d flows", ov.Entities, 3*crashRows)
	}
}
