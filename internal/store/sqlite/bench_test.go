package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// benchBatches makes n batches of a dense stream: 1,000 devices, a fifth of
// the flows to 40 entities, names drawn from 5,000 by a Zipf law, 5 % of
// the queries blocked; each batch covers ten seconds of one hour.
func benchBatches(n, rows int) []*store.Batch {
	rng := rand.New(rand.NewPCG(1, 1))
	z := rand.NewZipf(rng, 1.1, 4, 4999)
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("h%d.svc%d.example.com", i, i%97)
	}
	devs := make([]string, 1000)
	for i := range devs {
		devs[i] = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
	}
	peers := make([]string, 4096)
	for i := range peers {
		peers[i] = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
	}
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var out []*store.Batch
	for bi := range n {
		b := &store.Batch{}
		for i := range rows / 2 {
			at := base.Add(time.Duration(bi*10_000+i*10_000/(rows/2)) * time.Millisecond)
			dev := devs[rng.IntN(len(devs))]
			f := store.Flow{First: at, Last: at.Add(time.Second), Device: dev, Proto: "tcp", Peer: peers[rng.IntN(len(peers))], Port: 443,
				Host: "AS64500 Example", HostCountry: "US", Name: names[z.Uint64()],
				Traffic: store.Traffic{BytesOut: uint64(rng.IntN(20000)), BytesIn: uint64(rng.IntN(200000)), PacketsOut: 10, PacketsIn: 20, Flows: 1}}
			if rng.IntN(5) == 0 {
				e := rng.IntN(40)
				f.Entity, f.Role = fmt.Sprintf("entity-%d", e), "owner"
				f.Name = fmt.Sprintf("api%d.entity%d.example", rng.IntN(4), e)
				f.Evidence = []store.Evidence{{Kind: "tls-sni", Value: f.Name, Rule: f.Name}}
			}
			b.Flows = append(b.Flows, f)
			q := store.Query{Time: at, Client: dev, Group: "staff", Name: names[z.Uint64()], Type: 1, Verdict: "allow"}
			if rng.IntN(20) == 0 {
				q.Verdict, q.Rule, q.Entity, q.Name = "block", "rule-1", "entity-1", "api0.entity1.example"
			}
			b.Queries = append(b.Queries, q)
		}
		out = append(out, b)
	}
	return out
}

// BenchmarkWrite measures ingest of a dense stream once the dictionaries
// are warm (as a running sensor's are): batches of 100,000 rows, half
// flows, half queries.
func BenchmarkWrite(b *testing.B) {
	batches := benchBatches(8, 100_000)
	for _, sync := range []string{"normal", "full"} {
		b.Run("synchronous="+sync, func(b *testing.B) { benchWrite(b, batches, sync) })
	}
}

func benchWrite(b *testing.B, batches []*store.Batch, sync string) {
	ctx := context.Background()
	cfg := store.Config{Path: b.TempDir() + "/bench.db", Synchronous: sync}
	db, err := Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, bt := range batches {
		if err := db.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; b.Loop(); i++ {
		bt := batches[i%len(batches)]
		if err := db.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
	}
	if err := db.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkDecodeFlows measures the decoding readers do per detail row.
func BenchmarkDecodeFlows(b *testing.B) {
	var buf []byte
	r := flowRec{first: 1000, last: 2000, ent: 3, role: 4, name: 5000, host: 6, hc: 7, proto: 1, port: 443, bo: 12345, bi: 678901, po: 10, pi: 20, n: 1}
	for i := range 1000 {
		r.port = uint16(i)
		buf = appendFlow(buf, 0, &r)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		n := 0
		if err := decodeFlows(buf, 0, func(*flowRec) bool { n++; return true }); err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
}
