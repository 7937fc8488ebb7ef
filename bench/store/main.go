//go:build unix

// Command store-bench fills a store with synthetic flows and queries and
// times ingest and every Reader call against it. See docs/benchmarks.md,
// section Store.
//
//	go run ./bench/store -db /tmp/bench.db -flows 10000000 -queries 10000000   # fill (once)
//	go run ./bench/store -db /tmp/bench.db -read                               # time the readers
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// The synthetic organisation: 1,000 devices in 5 groups over 30 days.
// Each device runs a few apps or SDKs of the 40 entities of concern (45 %
// none, 30 % one, 15 % two, 10 % three to five; the entities drawn by a
// Zipf law), and a quarter of its flows go to them. Names follow a Zipf law
// over 50,000 names. A device that uses an entity of one of the three
// blocked rules asks for its names (blocked), of the three rules not yet
// in force likewise (due).
const (
	nDevices  = 1000
	nEntities = 40
	nNames    = 50000
	nHosts    = 20
)

var days = 30.0

// profStart starts the CPU profile half way through a fill (warm
// dictionaries), or at the start of the readers.
var profStart = func() {}

var end = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func main() {
	path := flag.String("db", "/tmp/outflow-bench.db", "store file")
	nFlows := flag.Int("flows", 10_000_000, "flow rows to write")
	nQueries := flag.Int("queries", 10_000_000, "query rows to write")
	batch := flag.Int("batch", 50_000, "rows per Write")
	read := flag.Bool("read", false, "time the readers instead of writing")
	extras := flag.Bool("extras", false, "add 10,000 app audits and 200,000 inventory rows to the store")
	reps := flag.Int("reps", 5, "runs of each reader call (the median is shown)")
	flag.Float64Var(&days, "days", 30, "days the rows span")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		profStart = func() { pprof.StartCPUProfile(f) }
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	cfg := store.Config{Path: *path, Synchronous: "normal"}
	db, err := sqlite.OpenWith(ctx, cfg, nil, sqlite.Options{Now: func() time.Time { return end }})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if *read {
		profStart()
		readers(ctx, db, *reps)
		return
	}
	if *extras {
		addExtras(ctx, db)
		return
	}
	fill(ctx, db, *nFlows, *nQueries, *batch)
}

// addExtras writes app audits (five findings each) and inventory rows (200
// apps on each device).
func addExtras(ctx context.Context, db *sqlite.DB) {
	g := newGen()
	var b store.Batch
	start := end.Add(-time.Duration(days * 24 * float64(time.Hour)))
	for i := range 10000 {
		a := store.Audit{Time: start.Add(time.Duration(i) * time.Minute * 4), Device: g.devs[i%nDevices], App: fmt.Sprintf("com.example.app%d", i%2000),
			Version: "1.0", Label: fmt.Sprintf("App %d", i%2000), Verdict: "monitor"}
		if i%7 == 0 {
			a.Entity, a.Verdict = g.ents[i%nEntities], "block"
		}
		for j := range 5 {
			a.Findings = append(a.Findings, store.Finding{Rule: fmt.Sprintf("rule-%d", j), Severity: []string{"high", "medium", "low", "info", "low"}[j],
				Title: "finding", Evidence: []string{"permission android.permission.READ_CONTACTS"}})
		}
		b.Audits = append(b.Audits, a)
	}
	for d := range nDevices {
		for j := range 200 {
			it := store.InventoryItem{Device: g.devs[d], Group: g.groups[d%len(g.groups)], App: fmt.Sprintf("com.example.app%d", (d*7+j)%2000),
				Version: "1.0", Seen: end.Add(-time.Duration(j) * time.Hour), Source: "bench"}
			if es := g.devEnts[d]; j < len(es) {
				it.Entity, it.Verdict = g.ents[es[j]], "monitor"
				if es[j] >= 3 && es[j] < 6 {
					it.Verdict, it.Rule = "due", fmt.Sprintf("rule-%d", es[j])
				}
			}
			b.Inventory = append(b.Inventory, it)
		}
	}
	t0 := time.Now()
	if err := db.Write(ctx, &b); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d audits and %d inventory rows in %v\n", len(b.Audits), len(b.Inventory), time.Since(t0).Round(time.Millisecond))
}

type gen struct {
	rng     *rand.Rand
	names   []string
	devs    []string
	ents    []string
	hosts   []string
	groups  []string
	zName   *rand.Zipf
	zEnt    *rand.Zipf
	entName [][]int // names of each entity
	devEnts [][]int // entities each device uses
}

func newGen() *gen {
	g := &gen{rng: rand.New(rand.NewPCG(7, 11))}
	src := rand.New(rand.NewPCG(3, 5))
	for i := range nNames {
		g.names = append(g.names, fmt.Sprintf("h%d.svc%d.example%d.com", i, i%97, i%3001))
	}
	for i := range nDevices {
		g.devs = append(g.devs, fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256))
	}
	for i := range nEntities {
		g.ents = append(g.ents, fmt.Sprintf("entity-%02d", i))
		var ns []int
		for range 30 {
			ns = append(ns, src.IntN(nNames))
		}
		g.entName = append(g.entName, ns)
	}
	for i := range nHosts {
		g.hosts = append(g.hosts, fmt.Sprintf("AS%d Host %d", 64500+i, i))
	}
	g.groups = []string{"staff", "guests", "iot", "servers", "finance"}
	g.zName = rand.NewZipf(g.rng, 1.1, 4, nNames-1)
	g.zEnt = rand.NewZipf(g.rng, 1.3, 2, nEntities-1)
	for range nDevices {
		n := 0
		switch r := src.IntN(100); {
		case r < 45:
		case r < 75:
			n = 1
		case r < 90:
			n = 2
		default:
			n = 3 + src.IntN(3)
		}
		var es []int
		for len(es) < n {
			e := int(g.zEnt.Uint64())
			if !slices.Contains(es, e) {
				es = append(es, e)
			}
		}
		g.devEnts = append(g.devEnts, es)
	}
	return g
}

func (g *gen) dims() *store.Batch {
	var b store.Batch
	juris := []string{"CN", "CN", "CN", "RU", "SG", "HK", "IR", "KP"}
	for i, e := range g.ents {
		b.Entities = append(b.Entities, store.Entity{ID: e, Name: "Entity " + e, Jurisdiction: juris[i%len(juris)], Lists: []string{fmt.Sprintf("list-%d", i%4)}})
	}
	for i, d := range g.devs {
		b.Devices = append(b.Devices, store.Device{ID: d, Name: fmt.Sprintf("host-%04d", i), Group: g.groups[i%len(g.groups)], MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256)})
	}
	for i := range 6 {
		dl := end.Add(time.Duration(i-3) * 10 * 24 * time.Hour)
		b.Rules = append(b.Rules, store.Rule{ID: fmt.Sprintf("rule-%d", i), Action: "block", Deadline: dl, Entities: []string{g.ents[i]}})
	}
	return &b
}

func fill(ctx context.Context, db *sqlite.DB, nFlows, nQueries, batch int) {
	g := newGen()
	if err := db.Write(ctx, g.dims()); err != nil {
		log.Fatal(err)
	}
	start := end.Add(-time.Duration(days * 24 * float64(time.Hour)))
	span := end.Sub(start)
	total := nFlows + nQueries
	var b store.Batch
	written, flows, queries := 0, 0, 0
	var writeTime, lastT time.Duration
	lastN := 0
	t0 := time.Now()
	for written < total {
		b.Reset()
		n := min(batch, total-written)
		for i := range n {
			// time advances with the rows written, as a live sensor's would
			at := start.Add(time.Duration(float64(span) * float64(written+i) / float64(total)))
			dev := g.rng.IntN(nDevices)
			if (flows < nFlows && i%2 == 0) || queries >= nQueries {
				flows++
				f := store.Flow{First: at, Last: at.Add(time.Duration(g.rng.IntN(60000)) * time.Millisecond), Device: g.devs[dev], Proto: "tcp",
					Peer: fmt.Sprintf("198.51.%d.%d", g.rng.IntN(256), g.rng.IntN(256)), Port: 443, Host: g.hosts[g.rng.IntN(nHosts)], HostCountry: "US",
					Traffic: store.Traffic{BytesOut: uint64(200 + g.rng.IntN(20000)), BytesIn: uint64(500 + g.rng.IntN(200000)), PacketsOut: 10, PacketsIn: 20, Flows: 1}}
				if es := g.devEnts[dev]; len(es) > 0 && g.rng.IntN(4) == 0 {
					e := es[g.rng.IntN(len(es))]
					f.Entity, f.Role = g.ents[e], "owner"
					f.Name = g.names[g.entName[e][g.rng.IntN(30)]]
					f.Evidence = []store.Evidence{{Kind: "tls-sni", Value: f.Name, Rule: f.Name, Source: "bench"}}
				} else {
					f.Name = g.names[g.zName.Uint64()]
				}
				b.Flows = append(b.Flows, f)
			} else {
				queries++
				q := store.Query{Time: at, Client: g.devs[dev], Group: g.groups[dev%len(g.groups)], Type: 1, Verdict: "allow"}
				q.Name = g.names[g.zName.Uint64()]
				if es := g.devEnts[dev]; len(es) > 0 && g.rng.IntN(5) == 0 {
					// rules 0-2 block entities 0-2; rules 3-5 will block 3-5
					if e := es[g.rng.IntN(len(es))]; e < 6 {
						q.Verdict, q.Rule, q.Entity, q.Deadline = "block", fmt.Sprintf("rule-%d", e), g.ents[e], end.Add(time.Duration(e-3)*10*24*time.Hour)
						if e >= 3 {
							q.Verdict = "due"
						}
						q.Name = g.names[g.entName[e][g.rng.IntN(30)]]
					}
				}
				b.Queries = append(b.Queries, q)
			}
		}
		if written <= total/2 && written+n > total/2 {
			profStart()
		}
		w0 := time.Now()
		if err := db.Write(ctx, &b); err != nil {
			log.Fatal(err)
		}
		writeTime += time.Since(w0)
		written += n
		if written%(batch*10) == 0 || written == total {
			fmt.Fprintf(os.Stderr, "%d rows, %.0f rows/s in Write (last %d: %.0f rows/s), %.0f rows/s overall\n", written,
				float64(written)/writeTime.Seconds(), written-lastN, float64(written-lastN)/(writeTime-lastT).Seconds(), float64(written)/time.Since(t0).Seconds())
			lastN, lastT = written, writeTime
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	in, _ := db.Info(ctx)
	fmt.Printf("wrote %d flow rows and %d query rows in %v (%v inside Write): %.0f rows/s in Write, %.0f rows/s with generation; "+
		"process CPU time %v (%.0f rows per CPU second, generation included); file %d MB; peak heap %d MB\n",
		flows, queries, time.Since(t0).Round(time.Second), writeTime.Round(time.Second), float64(total)/writeTime.Seconds(),
		float64(total)/time.Since(t0).Seconds(), cpu.Round(time.Second), float64(total)/cpu.Seconds(), in.Size>>20, ms.HeapSys>>20)
}

func readers(ctx context.Context, db *sqlite.DB, reps int) {
	in, err := db.Info(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("store: %d flow rows, %d query rows, %d devices, %d MB, %s .. %s\n", in.Flows, in.Queries, in.Devices, in.Size>>20,
		in.First.Format(time.DateOnly), in.Last.Format(time.DateOnly))
	month := store.Filter{Since: end.Add(-30 * 24 * time.Hour), Until: end}
	week := store.Filter{Since: end.Add(-7 * 24 * time.Hour), Until: end}
	dev := "10.0.1.44"
	calls := []struct {
		name string
		fn   func() (int, error)
	}{
		{"Overview (month)", func() (int, error) { o, err := db.Overview(ctx, month); return len(o.Entities), err }},
		{"Overview (all, open period)", func() (int, error) { o, err := db.Overview(ctx, store.Filter{}); return len(o.Entities), err }},
		{"Overview (week, group)", func() (int, error) {
			f := week
			f.Groups = []string{"staff"}
			o, err := db.Overview(ctx, f)
			return len(o.Entities), err
		}},
		{"Devices (month)", func() (int, error) { r, err := db.Devices(ctx, month); return len(r), err }},
		{"Devices (month, one entity)", func() (int, error) {
			f := month
			f.Entities = []string{"entity-05"}
			r, err := db.Devices(ctx, f)
			return len(r), err
		}},
		{"Device (month)", func() (int, error) { r, err := db.Device(ctx, dev, month); return len(r.Names), err }},
		{"Flows (newest 100)", func() (int, error) { r, err := db.Flows(ctx, store.Filter{}); return len(r), err }},
		{"Flows (device, month)", func() (int, error) {
			f := month
			f.Devices = []string{dev}
			r, err := db.Flows(ctx, f)
			return len(r), err
		}},
		{"Flows (rare entity, month)", func() (int, error) {
			f := month
			f.Entities = []string{"entity-39"}
			r, err := db.Flows(ctx, f)
			return len(r), err
		}},
		{"Flows (name, month)", func() (int, error) {
			f := month
			f.Names = []string{"h12345.svc26.example341.com"}
			r, err := db.Flows(ctx, f)
			return len(r), err
		}},
		{"Queries (blocked, month)", func() (int, error) {
			f := month
			f.Verdicts = []string{"block"}
			r, err := db.Queries(ctx, f)
			return len(r), err
		}},
		{"Queries (device, week)", func() (int, error) {
			f := week
			f.Devices = []string{dev}
			r, err := db.Queries(ctx, f)
			return len(r), err
		}},
		{"Names (month)", func() (int, error) { r, err := db.Names(ctx, month); return len(r), err }},
		{"Names (device, month)", func() (int, error) {
			f := month
			f.Devices = []string{dev}
			r, err := db.Names(ctx, f)
			return len(r), err
		}},
		{"Blocked (month)", func() (int, error) { r, err := db.Blocked(ctx, month); return len(r), err }},
		{"Overdue (month)", func() (int, error) { r, err := db.Overdue(ctx, month); return len(r), err }},
		{"Due (month)", func() (int, error) {
			f := month
			f.Until = end.Add(-5 * 24 * time.Hour)
			r, err := db.Due(ctx, f)
			return len(r), err
		}},
		{"Audits", func() (int, error) { r, err := db.Audits(ctx, month); return len(r), err }},
		{"Audits (one entity)", func() (int, error) {
			f := month
			f.Entities = []string{"entity-07"}
			r, err := db.Audits(ctx, f)
			return len(r), err
		}},
		{"Audit", func() (int, error) { r, err := db.Audit(ctx, 5000); return len(r.Findings), err }},
		{"Inventory", func() (int, error) { r, err := db.Inventory(ctx, month); return len(r), err }},
		{"Inventory (due)", func() (int, error) {
			f := month
			f.Verdicts = []string{"due"}
			r, err := db.Inventory(ctx, f)
			return len(r), err
		}},
		{"Entities", func() (int, error) { r, err := db.Entities(ctx); return len(r), err }},
		{"Search (name)", func() (int, error) { r, err := db.Search(ctx, "svc26.example34", 50); return len(r), err }},
		{"Search (device)", func() (int, error) { r, err := db.Search(ctx, "host-004", 50); return len(r), err }},
		{"Info", func() (int, error) { _, err := db.Info(ctx); return 1, err }},
	}
	fmt.Printf("| call | rows | median | max |\n|---|---:|---:|---:|\n")
	for _, c := range calls {
		var ds []time.Duration
		n := 0
		for range reps {
			t := time.Now()
			var err error
			n, err = c.fn()
			if err != nil {
				log.Fatalf("%s: %v", c.name, err)
			}
			ds = append(ds, time.Since(t))
		}
		slices.Sort(ds)
		fmt.Printf("| %s | %d | %v | %v |\n", c.name, n, ds[len(ds)/2].Round(100*time.Microsecond), ds[len(ds)-1].Round(100*time.Microsecond))
	}
}
