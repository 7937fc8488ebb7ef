package clickhouse_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// flowBatch is batch i: per flow rows of 200 devices in hour i, each of
// one byte out, so that totals count rows.
func flowBatch(i, per int) *store.Batch {
	b := &store.Batch{Flows: make([]store.Flow, per)}
	h := t0.Add(time.Duration(i%500) * time.Hour)
	for j := range b.Flows {
		b.Flows[j] = store.Flow{First: h.Add(time.Duration(j) * time.Millisecond), Last: h.Add(time.Duration(j)*time.Millisecond + time.Second),
			Device: fmt.Sprintf("10.0.%d.%d", j/200%4, j%200), Group: "staff", Proto: "tcp", Peer: fmt.Sprintf("192.0.2.%d", j%50), Port: 443,
			Name: fmt.Sprintf("n%d.example.com", j%50), Entity: "tiktok", Role: "owner", Host: "AS64500 Example", HostCountry: "US",
			Traffic: store.Traffic{BytesOut: 1, BytesIn: uint64(i), PacketsOut: 1, PacketsIn: 1, Flows: 1}}
	}
	return b
}

func openCH(t testing.TB, url string) *clickhouse.DB {
	t.Helper()
	cfg, err := clickhouse.ParseURL(url, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := clickhouse.Open(context.Background(), cfg, nil, clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// totals are what the server holds: detail rows, their byte sum, the
// distinct row keys, the rollup's byte sum, and the batches named.
type totals struct{ rows, bytes, keys, rollup, batches uint64 }

func count(t *testing.T, srv *chtest.Server, db string) totals {
	t.Helper()
	c, err := ch.Open(&ch.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var x totals
	q := "SELECT (SELECT count() FROM " + db + ".flow), (SELECT sum(bo) FROM " + db + ".flow), (SELECT uniqExact(ord) FROM " + db + ".flow), " +
		"(SELECT sumMerge(bo) FROM " + db + ".flow_h), (SELECT count() FROM " + db + ".batches)"
	if err := c.QueryRow(context.Background(), q).Scan(&x.rows, &x.bytes, &x.keys, &x.rollup, &x.batches); err != nil {
		t.Fatal(err)
	}
	return x
}

// flush replays the spool until it is empty, for at most a minute.
func flush(t *testing.T, db *clickhouse.DB) {
	t.Helper()
	var err error
	for range 120 {
		if err = db.Flush(context.Background()); err == nil && db.Pending() == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("spool not replayed in a minute (%d batches left): %v", db.Pending(), err)
}

// TestSpoolStopStart stops the server in the middle of an ingest and
// starts it again: every batch Write acknowledged is stored once, the
// rollups agree, and the batches written while it was away went through
// the spool.
func TestSpoolStopStart(t *testing.T) {
	srv := chtest.Start(t)
	// each batch's flow rows in two inserts at once (the default
	// inserts=2), as a batch of 131,072 rows and more goes: a stop may
	// come between them
	defer clickhouse.SetPartRows(400)()
	const batches, per = 200, 1000
	db := openCH(t, srv.URL("outflow_spool")+"?dial_timeout=1s&spool="+t.TempDir())
	defer db.Close()
	var acked atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := range batches {
			if err := db.Write(context.Background(), flowBatch(i, per)); err != nil {
				done <- fmt.Errorf("batch %d: %w", i, err)
				return
			}
			acked.Add(1)
		}
		done <- nil
	}()
	wait := func(n int64) {
		for range 6000 {
			if acked.Load() >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("writer stuck at %d batches", acked.Load())
	}
	wait(10)
	srv.Stop() // while the writer writes
	// 15 batches more while it is away (all of them, when the writer
	// spooled the rest during the server's shutdown)
	wait(min(acked.Load()+15, batches))
	srv.Restart(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	flush(t, db)
	got := count(t, srv, "outflow_spool")
	want := totals{rows: batches * per, bytes: batches * per, keys: batches * per, rollup: batches * per, batches: batches}
	if got != want {
		t.Fatalf("after stop and start: %+v, want %+v", got, want)
	}
	m := db.Metrics()
	if n := gather(t, m, "outflow_clickhouse_spooled_batches_total"); n < 15 {
		t.Errorf("%v batches spooled, want at least the 15 written while the server was down", n)
	}
	if n := gather(t, m, "outflow_clickhouse_replayed_batches_total"); n < 15 {
		t.Errorf("%v batches replayed, want at least 15", n)
	}
}

func gather(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestHelperWriter is the process TestKill9 kills: it writes flow
// batches to the store named by OUTFLOW_CH_KILL and prints "ack N" once
// batch N is acknowledged.
func TestHelperWriter(t *testing.T) {
	url := os.Getenv("OUTFLOW_CH_KILL")
	if url == "" {
		t.Skip("run by TestKill9")
	}
	db := openCH(t, url)
	for i := range 100000 {
		if err := db.Write(context.Background(), flowBatch(i, 1000)); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", i)
	}
}

// TestKill9 kills a writing process with SIGKILL while the server is
// down and its batches go to the spool; the next process using the
// store replays them: every acknowledged batch is stored, once, and at
// most the one batch in flight besides.
func TestKill9(t *testing.T) {
	srv := chtest.Start(t)
	url := srv.URL("outflow_kill") + "?dial_timeout=1s&spool=" + t.TempDir()
	db := openCH(t, url) // creates the schema
	db.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), "OUTFLOW_CH_KILL="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	acked := -1
	stopped, killed := false, false
	for sc.Scan() { // to the end: the writer may be ahead of what was read when it was killed
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("writer: %s", line)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
		if err != nil {
			continue
		}
		acked = n
		if n == 5 && !stopped {
			srv.Stop()
			stopped = true
		}
		if n == 25 && !killed {
			cmd.Process.Signal(os.Kill)
			killed = true
		}
	}
	cmd.Wait()
	if acked < 25 {
		t.Fatalf("writer acknowledged up to batch %d before it was killed, want 25 or more", acked)
	}
	srv.Restart(t)
	db = openCH(t, url) // adopts the killed process's spool
	defer db.Close()
	flush(t, db)
	got := count(t, srv, "outflow_kill")
	n := got.batches
	if n < uint64(acked+1) || n > uint64(acked+2) {
		t.Fatalf("%d batches stored; %d were acknowledged (and one may have been in flight)", n, acked+1)
	}
	want := totals{rows: n * 1000, bytes: n * 1000, keys: n * 1000, rollup: n * 1000, batches: n}
	if got != want {
		t.Fatalf("after kill -9: %+v, want %+v", got, want)
	}
}

// TestBatchInBlocks writes batches larger than one native block (the
// writer sends a table's rows in blocks of 16,384) and than one of a
// table's concurrent inserts (16,384 rows here): every row is stored
// once, in one part per insert, whole (the rows go sorted by device and
// hour), and the rollups agree. The first batch goes with LZ4 in two
// inserts at once (the default), the second with compression=none in
// one, the third in three.
func TestBatchInBlocks(t *testing.T) {
	srv := chtest.Start(t)
	defer clickhouse.SetPartRows(16384)()
	const per = 3*16384 + 1 // four blocks, the last of one row
	urls := []string{srv.URL("blocks") + "?spool=off", srv.URL("blocks") + "?spool=off&compression=none&inserts=1", srv.URL("blocks") + "?spool=off&inserts=3"}
	for i, url := range urls {
		db := openCH(t, url)
		err := db.Write(context.Background(), flowBatch(i, per))
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	const batches, inserts = 3, 2 + 1 + 3
	got := count(t, srv, "blocks")
	if want := (totals{rows: batches * per, bytes: batches * per, keys: batches * per, rollup: batches * per, batches: batches}); got != want {
		t.Fatalf("server holds %+v, want %+v", got, want)
	}
	c, err := ch.Open(&ch.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// the server squashes an insert's blocks: each insert is one part of
	// the detail table, as when it went in one block. Parts an insert
	// made have level 0, and stay listed for minutes after a merge.
	var parts uint64
	if err := c.QueryRow(context.Background(), "SELECT count() FROM system.parts WHERE database = 'blocks' AND table = 'flow' AND level = 0").Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts != inserts {
		t.Errorf("%d parts of blocks.flow made by inserts, want %d", parts, inserts)
	}
	// the writer sends the rows sorted by (dev, h), not as the batch
	// had them: every stored row is still whole (flowBatch's row j has
	// its time j ms into the hour, its device, peer and name from j)
	rs, err := c.Query(context.Background(), "SELECT first, last, dev, peer, name, ord FROM blocks.flow")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var n, bad int
	ords := map[int64]map[int]int64{} // hour -> row j -> ord
	for rs.Next() {
		var first, last, ord int64
		var dev, peer, name string
		if err := rs.Scan(&first, &last, &dev, &peer, &name, &ord); err != nil {
			t.Fatal(err)
		}
		j := int(first % 3600000)
		n++
		if dev != fmt.Sprintf("10.0.%d.%d", j/200%4, j%200) || peer != fmt.Sprintf("192.0.2.%d", j%50) || name != fmt.Sprintf("n%d.example.com", j%50) ||
			last-first != 1000 {
			if bad++; bad <= 3 {
				t.Errorf("row %d: %s %s %s, last-first %d", j, dev, peer, name, last-first)
			}
		}
		h := first / 3600000
		if ords[h] == nil {
			ords[h] = map[int]int64{}
		}
		ords[h][j] = ord
	}
	if err := rs.Err(); err != nil || n != batches*per || bad > 0 {
		t.Fatalf("%d rows read (%v), %d of them mixing values of different rows", n, err, bad)
	}
	// each row keeps its place in its batch (ord), which newest-first
	// pages and the replay check read, whatever order it was sent in
	for h, byJ := range ords {
		for j := 1; j < per; j++ {
			if byJ[j] <= byJ[j-1] {
				t.Fatalf("hour %d: row %d has ord %d, row %d ord %d: the batch's order is lost", h, j, byJ[j], j-1, byJ[j-1])
			}
		}
	}
}
