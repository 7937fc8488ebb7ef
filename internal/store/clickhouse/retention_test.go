package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// TestRetention: on 15 June, with 30 days of detail rows and 60 of
// rollups, the days (detail rows: those of March, April and May) and
// months (rollups, hourly and daily: March) wholly older go, and so do
// the audits and inventory rows older than 60 days; the rest stays.
func TestRetention(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	open := func(sc store.Config) *clickhouse.DB {
		cfg, err := clickhouse.ParseURL(srv.URL("outflow_ret")+"?spool=off", sc)
		if err != nil {
			t.Fatal(err)
		}
		db, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open(store.Config{})
	b := &store.Batch{}
	for m := time.March; m <= time.June; m++ {
		at := time.Date(2026, m, 10, 8, 0, 0, 0, time.UTC)
		b.Flows = append(b.Flows, store.Flow{First: at, Device: "10.0.0.1", Peer: "192.0.2.1", Entity: "tiktok", Traffic: store.Traffic{BytesOut: 1, Flows: 1}})
		b.Queries = append(b.Queries, store.Query{Time: at, Client: "10.0.0.1", Name: "a.example", Verdict: "allow"})
		b.Audits = append(b.Audits, store.Audit{Time: at, App: fmt.Sprintf("app%d", m), Findings: []store.Finding{{Rule: "r", Severity: "low"}}})
		b.Inventory = append(b.Inventory, store.InventoryItem{Device: "10.0.0.1", App: fmt.Sprintf("app%d", m), Seen: at})
	}
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(store.Config{Retention: 30 * 24 * time.Hour, RollupRetention: 60 * 24 * time.Hour}) // prunes at start
	defer db.Close()
	c, err := ch.Open(&ch.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := "SELECT (SELECT count() FROM outflow_ret.flow), (SELECT count() FROM outflow_ret.query), (SELECT count() FROM outflow_ret.flow_h), " +
		"(SELECT count() FROM outflow_ret.query_h), (SELECT count() FROM outflow_ret.audit), (SELECT count() FROM outflow_ret.finding), " +
		"(SELECT count() FROM outflow_ret.inventory_v), (SELECT count() FROM outflow_ret.flow_d), (SELECT count() FROM outflow_ret.query_d)"
	want := [9]uint64{1, 1, 3, 3, 2, 2, 2, 3, 3} // June; April to June; the audits and inventory of May and June; April to June
	var got [9]uint64
	for range 100 { // deletes are mutations, applied in the background
		if err := c.QueryRow(ctx, q).Scan(&got[0], &got[1], &got[2], &got[3], &got[4], &got[5], &got[6], &got[7], &got[8]); err != nil {
			t.Fatal(err)
		}
		if got == want {
			// Info counts the flows of the detail rows held (June's),
			// not those the longer-kept daily rollups still sum.
			in, err := db.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if in.Flows != 1 {
				t.Fatalf("Info: %d flows, want 1 (June's detail row)", in.Flows)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("flow, query, flow_h, query_h, audit, finding, inventory, flow_d, query_d rows: %v, want %v", got, want)
}
