package clickhouse_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// BenchmarkWriteFlows writes batches of flow rows (1,000 devices, 50
// peers and names, one entity of concern in seven rows; each batch a new
// hour) through the store writer into one local server. The rows are
// made once, and one batch is written before the timer: the timed loop is
// the writer's and the server's work in a running writer.
func BenchmarkWriteFlows(b *testing.B) {
	srv := chtest.Start(b)
	for _, rows := range []int{10000, 100000, 250000, 500000} {
		b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) {
			benchWrite(b, srv.URL(fmt.Sprintf("outflow_bench%d", rows))+"?spool=off", srv.CPU, rows)
		})
	}
}

// BenchmarkWriteFlowsCluster is BenchmarkWriteFlows into a cluster of two
// shards, two servers on the same machine (?cluster=NAME: the writer
// inserts into the Distributed table of the first, which sends each
// shard its rows); server-cpu-s/op is both servers'.
func BenchmarkWriteFlowsCluster(b *testing.B) {
	s1, s2 := chtest.Start2(b)
	cpu := func() time.Duration { return s1.CPU() + s2.CPU() }
	rows := 500000
	b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) {
		benchWrite(b, s1.URL("outflow_bench_cluster")+"?spool=off&cluster="+chtest.Cluster, cpu, rows)
	})
}

func benchWrite(b *testing.B, url string, serverCPU func() time.Duration, rows int) {
	ctx := context.Background()
	// OUTFLOW_BENCH_CH_WRITE adds URL parameters (compression=none)
	cfg, err := clickhouse.ParseURL(url+os.Getenv("OUTFLOW_BENCH_CH_WRITE"), store.Config{})
	if err != nil {
		b.Fatal(err)
	}
	db, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	batch := &store.Batch{Flows: make([]store.Flow, rows)}
	for j := range batch.Flows {
		ent := ""
		if j%7 == 0 {
			ent = "tiktok"
		}
		batch.Flows[j] = store.Flow{Device: fmt.Sprintf("10.0.%d.%d", j/250%4, j%250), Group: "staff", Proto: "tcp", Peer: fmt.Sprintf("192.0.2.%d", j%50), Port: 443,
			Name: fmt.Sprintf("n%d.example.com", j%50), Entity: ent, Role: "owner", Host: "AS64500 Example", HostCountry: "US",
			Traffic: store.Traffic{BytesOut: uint64(j), BytesIn: 2 * uint64(j), PacketsOut: 3, PacketsIn: 4, Flows: 1}}
	}
	// one batch before the timer, an hour before the timed ones: a
	// running writer has the previous batch's columns to reuse, and the
	// benchmark opens a new store for each of its runs
	for j := range batch.Flows {
		f := &batch.Flows[j]
		f.First, f.Last = t0.Add(-time.Hour+time.Duration(j)*time.Millisecond), t0.Add(-time.Hour+time.Duration(j)*time.Millisecond+time.Second)
	}
	if err := db.Write(ctx, batch); err != nil {
		b.Fatal(err)
	}
	cpu0, srv0 := chtest.ProcCPU(os.Getpid()), serverCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := t0.Add(time.Duration(i) * time.Hour)
		for j := range batch.Flows {
			f := &batch.Flows[j]
			f.First, f.Last = h.Add(time.Duration(j)*time.Millisecond), h.Add(time.Duration(j)*time.Millisecond+time.Second)
		}
		if err := db.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
	// processor time per batch, of this process (the writer, and the
	// loop setting the rows' times) and of the server (the inserts, and
	// any merge that ran meanwhile): on a shared machine the wall time
	// depends on the others' load, these less
	if cpu, sc := chtest.ProcCPU(os.Getpid())-cpu0, serverCPU()-srv0; cpu > 0 && sc > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "client-cpu-s/op")
		b.ReportMetric(sc.Seconds()/float64(b.N), "server-cpu-s/op")
	}
}

// BenchmarkDashboard times every Reader call the dashboard makes over
// OUTFLOW_BENCH_CH_ROWS flow rows and as many query rows (default 2
// million each; the figure is 50 million) over 30 days: 1,000
// devices (10.X.Y), 40 entities of concern, 50,000 names. The rows are generated
// inside the server (INSERT ... SELECT FROM numbers()), the rollups kept
// by the views as for written rows. Each call is made once before the
// timer (the server's caches warm, as on a running dashboard).
//
// OUTFLOW_BENCH_CH_ADDR=HOST:PORT uses a running server instead of
// starting one, and keeps the database outflow_dash there: a later run
// with the same number of rows reuses it (generating 50 million rows
// takes a while).
func BenchmarkDashboard(b *testing.B) {
	n := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("OUTFLOW_BENCH_CH_ROWS")); err == nil && v > 0 {
		n = v
	}
	addr := os.Getenv("OUTFLOW_BENCH_CH_ADDR")
	if addr == "" {
		addr = chtest.Start(b).Addr()
	}
	ctx := context.Background()
	h0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := h0.Add(30 * 24 * time.Hour)
	cfg, err := clickhouse.ParseURL("clickhouse://"+addr+"/outflow_dash?spool=off&read_timeout=10m", store.Config{})
	if err != nil {
		b.Fatal(err)
	}
	db, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c, err := ch.Open(&ch.Options{Addr: []string{addr}, ReadTimeout: 30 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	hour0 := h0.Unix() / 3600
	per := max(n/720, 1) // rows an hour
	dev := "concat('10.', toString(intDiv(number % 1000, 250)), '.', toString(number % 250))"
	ent := "if(number % 5 = 0, concat('ent', toString(number % 40)), '')"
	name := "concat('n', toString(number % 50000), '.example.com')"
	gen := []string{
		fmt.Sprintf("INSERT INTO outflow_dash.flow (h, first, last, dev, grp, proto, peer, port, name, ent, role, host, hc, verdict, rule, source, bo, bi, po, pi, n, ord, batch) "+
			"SELECT %d + intDiv(number, %d) AS hh, hh * 3600000 + number %% 3600000, hh * 3600000 + number %% 3600000 + 1000, %s, 'staff', 'tcp', "+
			"concat('192.0.2.', toString(number %% 250)), 443, %s, %s, 'owner', concat('AS', toString(64500 + number %% 20)), 'US', '', '', 'bench', "+
			"number %% 10000, number %% 30000, 10, 20, 1, number, 'gen' FROM numbers(%d)", hour0, per, dev, name, ent, n),
		fmt.Sprintf("INSERT INTO outflow_dash.query (t, h, dev, grp, proto, name, typ, rcode, verdict, rule, ent, reason, deadline, latency_us, cached, ord, batch) "+
			"SELECT (%d + intDiv(number, %d)) * 3600000 + number %% 3600000, %d + intDiv(number, %d), %s, 'staff', 'udp', %s, 1, 0, "+
			"if(number %% 5 = 0, 'block', 'allow'), if(number %% 5 = 0, 'no-ent', ''), %s, '', 0, 500, 0, number, 'gen' FROM numbers(%d)",
			hour0, per, hour0, per, dev, name, ent, n),
		"INSERT INTO outflow_dash.ent_v (seq, key, name, jur, reg, chain, lists, kind, unverified) SELECT number, concat('ent', toString(number)), " +
			"concat('Entity ', toString(number)), 'CN', 'CN', '', 'concern', 'company', '' FROM numbers(40)",
		"INSERT INTO outflow_dash.dev_v (seq, key, mac, name, vendor, grp, owner, platform) SELECT number, " +
			"concat('10.', toString(intDiv(number, 250)), '.', toString(number % 250)), '', '', '', 'staff', '', '' FROM numbers(1000)",
		"INSERT INTO outflow_dash.names (name, rname) SELECT " + name + ", reverse(" + name + ") FROM numbers(50000)",
		"INSERT INTO outflow_dash.rule_v (seq, key, seen, action, basis, deadline, groups, entities, lists) SELECT 1, 'no-ent', 1, 'block', '', 0, '', '', ''",
	}
	var have uint64
	if err := c.QueryRow(ctx, "SELECT count() FROM outflow_dash.query").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == uint64(n) {
		gen = nil
	} else if have != 0 {
		b.Fatalf("outflow_dash on %s holds %d query rows, not 0 or %d: drop it first", addr, have, n)
	}
	start := time.Now()
	for _, q := range gen {
		if err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("generated %d flow and %d query rows in %v", n, n, time.Since(start).Round(time.Second))
	month := store.Filter{Since: now.Add(-30 * 24 * time.Hour), Until: now}
	day := store.Filter{Since: now.Add(-24 * time.Hour), Until: now}
	dv := store.Filter{Since: month.Since, Until: now, Devices: []string{"10.0.7"}}
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Overview/month", func() error { _, err := db.Overview(ctx, month); return err }},
		{"Overview/day", func() error { _, err := db.Overview(ctx, day); return err }},
		{"Overview/device", func() error { _, err := db.Overview(ctx, dv); return err }},
		{"Devices", func() error { _, err := db.Devices(ctx, month); return err }},
		{"Device", func() error { _, err := db.Device(ctx, "10.0.7", month); return err }},
		{"Flows", func() error { _, err := db.Flows(ctx, month); return err }},
		{"Flows/device", func() error { _, err := db.Flows(ctx, dv); return err }},
		{"Names", func() error { _, err := db.Names(ctx, month); return err }},
		{"Names/device", func() error { _, err := db.Names(ctx, dv); return err }},
		{"Queries", func() error { _, err := db.Queries(ctx, month); return err }},
		{"Blocked", func() error { _, err := db.Blocked(ctx, month); return err }},
		{"Overdue", func() error { _, err := db.Overdue(ctx, month); return err }},
		{"Due", func() error { _, err := db.Due(ctx, month); return err }},
		{"Audits", func() error { _, err := db.Audits(ctx, month); return err }},
		{"Inventory", func() error { _, err := db.Inventory(ctx, month); return err }},
		{"Entities", func() error { _, err := db.Entities(ctx); return err }},
		{"Search", func() error { _, err := db.Search(ctx, "n123", 20); return err }},
		{"Info", func() error { _, err := db.Info(ctx); return err }},
	}
	for _, call := range calls {
		b.Run(call.name, func(b *testing.B) {
			if err := call.fn(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := call.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/call")
		})
	}
}
