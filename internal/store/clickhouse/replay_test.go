package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// TestReplayOnce replays batches the server holds wholly or in part, as
// a server dying mid-batch or a process killed between sending a
// spooled batch and removing it leaves them: each is counted once.
func TestReplayOnce(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	cfg, err := ParseURL(srv.URL("outflow_once")+"?spool="+t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, cfg, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	at := time.Date(2026, 3, 30, 23, 0, 0, 0, time.UTC) // the batch spans two months: two parts
	batch := func(i int) *store.Batch {
		b := &store.Batch{Audits: []store.Audit{{Time: at, App: fmt.Sprintf("app%d", i), Findings: []store.Finding{{Rule: "r", Severity: "high"}}}},
			Bypass: []store.Bypass{{Device: fmt.Sprintf("10.1.%d.1", i), Kind: "doh", Peer: "192.0.2.53", Port: 443, Proto: "tcp", Flows: 1, BytesOut: 10, First: at, Last: at}}}
		for j := range 1000 {
			b.Flows = append(b.Flows, store.Flow{First: at.Add(time.Duration(j) * 10 * time.Minute), Device: fmt.Sprintf("10.1.%d.%d", i, j%100),
				Peer: "192.0.2.1", Entity: "tiktok", Traffic: store.Traffic{BytesOut: 1, Flows: 1}})
			b.Queries = append(b.Queries, store.Query{Time: at.Add(time.Duration(j) * time.Minute), Client: "10.1.0.1", Name: "a.example", Verdict: "allow"})
		}
		return b
	}
	build := func(b *store.Batch) *payload {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		r := d.newRows(ctx)
		if err := r.build(b); err != nil {
			t.Fatal(err)
		}
		return r.p
	}
	// Delivered whole: its replay adds nothing.
	whole := build(batch(1))
	if err := d.send(ctx, whole, false); err != nil {
		t.Fatal(err)
	}
	// Delivered in part: the dimensions, the audit, the bypass rows,
	// half the flow rows (of one month), none of the queries, and not
	// its batches row.
	part := build(batch(2))
	var sent []*tab
	for _, tb := range part.Tables {
		switch tb.Name {
		case "query", "finding":
		case "flow":
			keep := make([]bool, tb.rows())
			for i := range keep {
				keep[i] = i < 500
			}
			half := &tab{Name: "flow", Cols: make([]col, len(tb.Cols))}
			for i := range tb.Cols {
				half.Cols[i] = tb.Cols[i].keep(keep)
			}
			sent = append(sent, half)
		default:
			sent = append(sent, tb)
		}
	}
	if err := d.insert(ctx, sent); err != nil {
		t.Fatal(err)
	}
	// Alerts delivered without their batches row.
	d.wmu.Lock()
	r := d.newRows(ctx)
	r.add("alert", int64(1), at.UnixMilli(), "overdue", "hq", "10.1.2.1", "tiktok", "TikTok", "CN", "r", int64(0), "sni=a.example", uint64(5), "s")
	alerts := r.p
	d.wmu.Unlock()
	if err := d.insert(ctx, alerts.Tables); err != nil {
		t.Fatal(err)
	}
	d.wmu.Lock()
	for _, p := range []*payload{whole, part, whole, part, alerts, alerts} {
		if err := d.spool(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	d.wmu.Unlock()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var flows, fsum, queries, audits, findings, bypass, alertN, batches uint64
	err = d.conn.QueryRow(ctx, "SELECT (SELECT count() FROM outflow_once.flow), (SELECT sumMerge(bo) FROM outflow_once.flow_h), "+
		"(SELECT count() FROM outflow_once.query), (SELECT count() FROM outflow_once.audit), (SELECT count() FROM outflow_once.finding), "+
		"(SELECT sum(n) FROM outflow_once.bypass), (SELECT count() FROM outflow_once.alert), "+
		"(SELECT count() FROM outflow_once.batches)").Scan(&flows, &fsum, &queries, &audits, &findings, &bypass, &alertN, &batches)
	if err != nil {
		t.Fatal(err)
	}
	got := [8]uint64{flows, fsum, queries, audits, findings, bypass, alertN, batches}
	if want := [8]uint64{2000, 2000, 2000, 2, 2, 2, 1, 3}; got != want {
		t.Fatalf("flows, rollup bytes, queries, audits, findings, bypass flows, alerts, batches: %v, want %v", got, want)
	}
	if d.Pending() != 0 {
		t.Fatalf("%d batches left in the spool", d.Pending())
	}
}
