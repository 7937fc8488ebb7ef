package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

func testInput(t *testing.T, name, content string) store.Input {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := store.Fingerprint(p)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// totals are what a report sums: flows and bytes to entities, and the
// flow rows held.
func totals(t *testing.T, db *DB) (flows, bytes uint64, rows int64) {
	t.Helper()
	ctx := context.Background()
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ov, err := db.Overview(ctx, store.Filter{Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ov.Entities {
		flows += e.Period.Flows
		bytes += e.Period.BytesOut
	}
	in, err := db.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return flows, bytes, in.Flows
}

func ingestBatches(t *testing.T, db *DB, in store.Input, again bool, n int) error {
	t.Helper()
	ctx := context.Background()
	g, err := db.BeginIngest(ctx, []store.Input{in}, again)
	if err != nil {
		return err
	}
	defer g.Close()
	for i := range n {
		if err := g.Write(ctx, crashBatch(i)); err != nil {
			t.Fatal(err)
		}
	}
	return g.Commit(ctx)
}

func TestIngestOnce(t *testing.T) {
	db := openTest(t, t0)
	in := testInput(t, "a.pcap", "capture bytes")
	if err := ingestBatches(t, db, in, false, 3); err != nil {
		t.Fatal(err)
	}
	f1, b1, r1 := totals(t, db)
	if f1 != 3*crashRows || r1 != 3*crashRows {
		t.Fatalf("after one ingest: %d flows, %d rows; want %d", f1, r1, 3*crashRows)
	}

	// the same file, under another name: refused, totals unchanged
	moved := in
	moved.Path = "/elsewhere/a-copy.pcap"
	err := ingestBatches(t, db, moved, false, 3)
	var ie *store.IngestedError
	if !errors.As(err, &ie) || ie.Prev.Path != in.Path || ie.Prev.At.IsZero() ||
		!strings.Contains(err.Error(), "a-copy.pcap was already ingested on") || !strings.Contains(err.Error(), in.Path) {
		t.Fatalf("second ingest: %v", err)
	}
	if f, b, r := totals(t, db); f != f1 || b != b1 || r != r1 {
		t.Errorf("refused ingest changed totals: %d/%d/%d, want %d/%d/%d", f, b, r, f1, b1, r1)
	}

	// a write through the store is not blocked by the refused ingest
	if err := db.Write(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}

	// an ingest closed before Commit stores nothing
	other := testInput(t, "b.pcap", "other capture")
	g, err := db.BeginIngest(context.Background(), []store.Input{other}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Write(context.Background(), crashBatch(7)); err != nil {
		t.Fatal(err)
	}
	g.Close()
	if fs, _ := db.Flows(context.Background(), store.Filter{Devices: []string{"crash-7"}}); len(fs) != 0 {
		t.Errorf("aborted ingest left %d rows", len(fs))
	}

	// --again: allowed, and counted twice as asked
	if err := ingestBatches(t, db, in, true, 3); err != nil {
		t.Fatal(err)
	}
	if f, _, _ := totals(t, db); f != 2*f1 {
		t.Errorf("after --again: %d flows, want %d", f, 2*f1)
	}
	ins, err := db.Ingested(context.Background())
	if err != nil || len(ins) != 2 || !ins[0].Same(in) || ins[0].First.IsZero() || ins[0].Last.Before(ins[0].First) {
		t.Errorf("ingested: %+v %v", ins, err)
	}
}

const ingestEnv = "OUTFLOW_STORE_INGEST_CHILD"

// TestIngestCrashChild is the child of TestIngestKilled: it ingests
// batches without ever committing, saying which it wrote, until killed.
func TestIngestCrashChild(t *testing.T) {
	path := os.Getenv(ingestEnv)
	if path == "" {
		t.Skip("run by TestIngestKilled")
	}
	db, err := Open(context.Background(), store.Config{Path: path}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	in := store.Input{Path: "big.pcap", Size: 1, Head: "h", Tail: "t"}
	g, err := db.BeginIngest(context.Background(), []store.Input{in}, false)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		if err := g.Write(context.Background(), crashBatch(i)); err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(1)
		}
		fmt.Fprintln(w, "wrote", i)
		w.Flush()
	}
}

// TestIngestKilled kills an ingest with SIGKILL after several batches:
// the store must open with none of them, and ingesting the same input
// again must give exactly the totals of a clean run.
func TestIngestKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "ingest.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), ingestEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	wrote := -1
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if n, ok := strings.CutPrefix(line, "wrote "); ok {
			wrote, _ = strconv.Atoi(n)
			if wrote >= 5 {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	cmd.Wait()
	if wrote < 5 {
		t.Fatalf("child wrote %d batches before dying", wrote+1)
	}
	db, err := Open(context.Background(), store.Config{Path: path}, nil)
	if err != nil {
		t.Fatalf("store does not open after kill -9: %v", err)
	}
	defer db.Close()
	if err := db.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f, _, r := totals(t, db); f != 0 || r != 0 {
		t.Fatalf("killed ingest left %d flows (%d rows)", f, r)
	}
	if ins, err := db.Ingested(context.Background()); err != nil || len(ins) != 0 {
		t.Fatalf("killed ingest recorded: %v %v", ins, err)
	}
	// the re-run is not refused and counts once
	in := store.Input{Path: "big.pcap", Size: 1, Head: "h", Tail: "t"}
	if err := ingestBatches(t, db, in, false, 6); err != nil {
		t.Fatal(err)
	}
	clean := openTest(t, t0)
	if err := ingestBatches(t, clean, in, false, 6); err != nil {
		t.Fatal(err)
	}
	f, b, r := totals(t, db)
	cf, cb, cr := totals(t, clean)
	if f != cf || b != cb || r != cr || f != 6*crashRows {
		t.Errorf("re-run after kill: %d flows, %d bytes, %d rows; clean run %d, %d, %d", f, b, r, cf, cb, cr)
	}
}
