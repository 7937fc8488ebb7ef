package clickhouse

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// TestSetAside: a spooled batch this build cannot read is set aside at
// once, and one the server refuses every time after maxStrikes replays;
// the batches after them are delivered, and both are kept in the slot's
// directory.
func TestSetAside(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	cfg, err := ParseURL(srv.URL("outflow_aside")+"?spool="+t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, cfg, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	at := time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)
	// alerts into a table the server no longer has: refused every time
	d.wmu.Lock()
	r := d.newRows(ctx)
	r.add("alert", int64(1), at.UnixMilli(), "overdue", "hq", "10.1.2.1", "tiktok", "TikTok", "CN", "r", int64(0), "sni=a.example", uint64(5), "s")
	refused := r.p
	d.wmu.Unlock()
	if err := d.conn.Exec(ctx, "DROP TABLE outflow_aside.alert"); err != nil {
		t.Fatal(err)
	}
	good := &store.Batch{Flows: []store.Flow{{First: at, Device: "10.1.0.1", Peer: "192.0.2.1", Traffic: store.Traffic{BytesOut: 7, Flows: 1}}}}
	d.wmu.Lock()
	r = d.newRows(ctx)
	if err := r.build(good); err != nil {
		t.Fatal(err)
	}
	goodP := r.p
	err = d.sp.Append([]byte("not a batch"))
	if err == nil {
		err = d.spool(refused, nil)
	}
	if err == nil {
		err = d.spool(goodP, nil)
	}
	d.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var flushes int
	for flushes = 1; flushes <= 2*maxStrikes && d.Flush(ctx) != nil; flushes++ {
	}
	if d.Pending() != 0 {
		t.Fatalf("%d batches left in the spool after %d flushes", d.Pending(), flushes)
	}
	if flushes != maxStrikes {
		t.Errorf("delivered on flush %d, want %d (the refused batch set aside on its %[2]d-th failure)", flushes, maxStrikes)
	}
	var n uint64
	if err := d.conn.QueryRow(ctx, "SELECT count() FROM outflow_aside.flow").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d flow rows stored (%v), want the good batch's 1", n, err)
	}
	aside, _ := filepath.Glob(filepath.Join(d.sp.Dir, "aside-*"))
	if len(aside) != 2 {
		t.Errorf("kept aside: %v, want 2 files", aside)
	}
	mfs, err := d.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "outflow_clickhouse_spool_set_aside_total" {
			got = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != 2 {
		t.Errorf("outflow_clickhouse_spool_set_aside_total %v, want 2", got)
	}
}
