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

// TestClusterSameAnswers writes the same data to one server and to a
// cluster of two shards (?cluster=NAME) and compares every dashboard
// call: the cluster gives the same answers, and its rows are on both
// shards.
func TestClusterSameAnswers(t *testing.T) {
	s1, s2 := chtest.Start2(t)
	ctx := context.Background()
	now := base.Add(14*24*time.Hour + 3*time.Hour)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	open := func(url string) *clickhouse.DB {
		cfg, err := clickhouse.ParseURL(url, store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		db, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	one := open(s2.URL("outflow_one") + "?read_timeout=30s&spool=off")
	two := open(s1.URL("outflow_two") + "?read_timeout=30s&spool=off&cluster=" + chtest.Cluster)
	fill(t, dir, one)
	fill(t, dir, two)
	quiet := slog.New(slog.DiscardHandler)
	ws, wc := serve(t, one, now, quiet), serve(t, two, now, quiet)
	for _, c := range append(calls, "/api/info") {
		t.Run(c, func(t *testing.T) {
			codeS, want := get(t, ws, c)
			codeC, got := get(t, wc, c)
			if codeS != codeC {
				t.Fatalf("status: one server %d, two shards %d", codeS, codeC)
			}
			if m, ok := want.(map[string]any); ok && c == "/api/info" {
				for _, k := range []string{"path", "size"} {
					delete(m, k)
					delete(got.(map[string]any), k)
				}
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("one server (-) and two shards (+) differ:\n%s", diff)
			}
		})
	}
	// Not vacuous: each shard holds part of the flows.
	for _, s := range []*chtest.Server{s1, s2} {
		var n uint64
		c, err := ch.Open(&ch.Options{Addr: []string{s.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		err = c.QueryRow(ctx, "SELECT count() FROM outflow_two.flow_local").Scan(&n)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("shard %s holds no flow rows", s.Addr())
		}
	}
}
