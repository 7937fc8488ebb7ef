package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

// BenchmarkWriteFlows writes batches of flow rows (1,000 devices, 50
// peers each hour) through the store writer into one local server.
func BenchmarkWriteFlows(b *testing.B) {
	srv := chtest.Start(b)
	for _, rows := range []int{10000, 100000, 500000} {
		b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) { benchWrite(b, srv, rows) })
	}
}

func benchWrite(b *testing.B, srv *chtest.Server, rows int) {
	ctx := context.Background()
	cfg, err := clickhouse.ParseURL(srv.URL(fmt.Sprintf("outflow_bench%d", rows))+"?spool=off", store.Config{})
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := t0.Add(time.Duration(i) * time.Hour)
		for j := range batch.Flows {
			ent := ""
			if j%7 == 0 {
				ent = "tiktok"
			}
			batch.Flows[j] = store.Flow{First: h.Add(time.Duration(j) * time.Millisecond), Last: h.Add(time.Duration(j)*time.Millisecond + time.Second),
				Device: fmt.Sprintf("10.0.%d.%d", j/250%4, j%250), Group: "staff", Proto: "tcp", Peer: fmt.Sprintf("192.0.2.%d", j%50), Port: 443,
				Name: fmt.Sprintf("n%d.example.com", j%50), Entity: ent, Role: "owner", Host: "AS64500 Example", HostCountry: "US",
				Traffic: store.Traffic{BytesOut: uint64(j), BytesIn: 2 * uint64(j), PacketsOut: 3, PacketsIn: 4, Flows: 1}}
		}
		if err := db.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
