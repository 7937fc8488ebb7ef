package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

const crashEnv = "OUTFLOW_STORE_CRASH_CHILD"

// crashBatch is batch i of the crash test: rows whose device names the
// batch, so that each batch can be counted after the crash.
func crashBatch(i int) *store.Batch {
	var b store.Batch
	dev := fmt.Sprintf("crash-%d", i)
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	for j := range crashRows {
		b.Flows = append(b.Flows, store.Flow{First: at, Device: dev, Entity: "tiktok", Peer: "192.0.2." + strconv.Itoa(j%250),
			Name: fmt.Sprintf("n%d.tiktok.com", j%97), Traffic: store.Traffic{BytesOut: 1, Flows: 1}})
		b.Queries = append(b.Queries, store.Query{Time: at, Client: dev, Name: fmt.Sprintf("q%d.example", j), Verdict: "allow"})
	}
	return &b
}

const crashRows = 2000

// TestCrashChild is the child of TestCrashMidBatch: it writes batches and
// says which committed, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrashMidBatch")
	}
	cfg := store.Config{Path: path, Synchronous: os.Getenv(crashEnv + "_SYNC")}
	db, err := Open(context.Background(), cfg, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	first, _ := strconv.Atoi(os.Getenv(crashEnv + "_FIRST"))
	w := bufio.NewWriter(os.Stdout)
	for i := first; ; i++ {
		if err := db.Write(context.Background(), crashBatch(i)); err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(1)
		}
		fmt.Fprintln(w, "ack", i)
		w.Flush()
	}
}

// TestCrashMidBatch kills a writing process with SIGKILL, several times
// on the same file, and checks after each kill that the store opens, is
// intact, holds every batch that was acknowledged and no part of any
// other.
func TestCrashMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := t.TempDir() + "/crash.db"
	next := 0
	for round, sync := range []string{"full", "normal", "full"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, crashEnv+"_SYNC="+sync, crashEnv+"_FIRST="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acked := -1
		killAt := 5 + round*3
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") {
				t.Fatalf("child: %s", line)
			}
			if n, ok := strings.CutPrefix(line, "ack "); ok {
				acked, _ = strconv.Atoi(n)
				if acked-next+1 >= killAt {
					// the child is already inside the next batch
					time.Sleep(time.Duration(round*7) * time.Millisecond)
					break
				}
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// acknowledgements printed before the kill landed also count
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked, _ = strconv.Atoi(n)
			}
		}
		cmd.Wait()
		if acked < next {
			t.Fatalf("round %d: no batch acknowledged", round)
		}
		db, err := Open(context.Background(), store.Config{Path: path}, nil)
		if err != nil {
			t.Fatalf("round %d: store does not open after kill -9: %v", round, err)
		}
		if err := db.Check(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		maxPresent := -1
		for i := 0; i <= acked+3; i++ {
			fs, err := db.Flows(context.Background(), store.Filter{Devices: []string{fmt.Sprintf("crash-%d", i)}, Limit: store.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			qs, err := db.Queries(context.Background(), store.Filter{Devices: []string{fmt.Sprintf("crash-%d", i)}, Limit: store.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i <= acked && (len(fs) != crashRows || len(qs) != crashRows):
				t.Errorf("round %d: acknowledged batch %d has %d flows and %d queries, want %d each", round, i, len(fs), len(qs), crashRows)
			case len(fs) != 0 && len(fs) != crashRows, len(qs) != 0 && len(qs) != crashRows:
				t.Errorf("round %d: batch %d is partly there: %d flows, %d queries", round, i, len(fs), len(qs))
			}
			if len(fs) > 0 {
				maxPresent = i
			}
		}
		ov, err := db.Overview(context.Background(), store.Filter{Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if len(ov.Entities) != 1 || ov.Entities[0].Period.Flows != uint64((maxPresent+1)*crashRows) {
			t.Errorf("round %d: rollup says %v flows, detail rows %d", round, ov.Entities, (maxPresent+1)*crashRows)
		}
		t.Logf("round %d (synchronous=%s): %d batches acknowledged, %d present", round, sync, acked+1, maxPresent+1)
		db.Close()
		next = maxPresent + 1
	}
}
