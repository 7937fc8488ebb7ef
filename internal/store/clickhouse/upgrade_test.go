package clickhouse_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// TestUpgrade fills a store of schema version 3 (monthly detail
// partitions, hourly rollups only), opens it with this build (migration
// 4: daily rollups filled from the hourly ones, detail tables rebuilt by
// day), writes more, and compares every dashboard call with a store
// made at the newest version from the same writes: identical.
func TestUpgrade(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	now := base.Add(14*24*time.Hour + 3*time.Hour)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	open := func(db string) *clickhouse.DB {
		cfg, err := clickhouse.ParseURL(srv.URL(db)+"?read_timeout=30s&spool=off", store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	restore := clickhouse.MigrateUpTo(3)
	old := open("outflow_v3")
	fill(t, dir, old)
	old.Close()
	restore()
	up := open("outflow_v3")
	defer up.Close()
	fresh := open("outflow_v4")
	defer fresh.Close()
	fill(t, dir, fresh)
	// Written after the upgrade: the views were made again on the
	// rebuilt tables.
	more := &store.Batch{
		Flows:   []store.Flow{{First: now.Add(-time.Hour), Last: now.Add(-time.Minute), Device: "192.168.50.10", Peer: "203.0.113.9", Port: 443, Proto: "tcp", Name: "late.example", Entity: "tiktok", Role: "owner", Traffic: store.Traffic{BytesOut: 7777, Flows: 1}}},
		Queries: []store.Query{{Time: now.Add(-time.Hour), Client: "192.168.50.10", Name: "late.example", Entity: "tiktok", Verdict: "block", Rule: "late"}},
	}
	for _, s := range []*clickhouse.DB{up, fresh} {
		b := *more
		if err := s.Write(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	wu, wf := serve(t, up, now, quiet), serve(t, fresh, now, quiet)
	for _, c := range append(calls, "/api/info") {
		t.Run(c, func(t *testing.T) {
			codeF, want := get(t, wf, c)
			codeU, got := get(t, wu, c)
			if codeF != codeU {
				t.Fatalf("status: new store %d, upgraded %d", codeF, codeU)
			}
			if m, ok := want.(map[string]any); ok && c == "/api/info" {
				for _, k := range []string{"path", "size"} {
					delete(m, k)
					delete(got.(map[string]any), k)
				}
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("new store (-) and upgraded (+) differ:\n%s", diff)
			}
		})
	}
	c, err := ch.Open(&ch.Options{Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The upgraded schema is the new one: the same tables and views,
	// partitioned and ordered alike, and nothing left from the rebuild.
	schema := func(db string) []string {
		var out []string
		rows, err := c.Query(ctx, "SELECT concat(name, ' ', engine, ' ', partition_key, ' ', sorting_key) FROM system.tables WHERE database = ? ORDER BY name", db)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	if diff := gocmp.Diff(schema("outflow_v4"), schema("outflow_v3")); diff != "" {
		t.Errorf("tables: new store (-) and upgraded (+) differ:\n%s", diff)
	}
	var fd uint64
	if err := c.QueryRow(ctx, "SELECT count() FROM outflow_v3.flow_d WHERE d < ?", now.Unix()/86400).Scan(&fd); err != nil {
		t.Fatal(err)
	}
	if fd == 0 {
		t.Fatal("the upgraded store's daily flow rollup holds nothing from before the upgrade")
	}
}
