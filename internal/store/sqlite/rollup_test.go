package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// TestRollupsMatchDetail writes random flows and queries over ten days in
// several batches and checks, for random periods (whole days, partial
// days, single hours), that what the rollups answer equals sums computed
// from the rows themselves.
func TestRollupsMatchDetail(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * 24 * time.Hour)
	db := openTest(t, end)
	rng := rand.New(rand.NewPCG(1, 2))
	ents := []string{"", "", "tiktok", "xiaomi", "tencent"}
	var flows []store.Flow
	var queries []store.Query
	for range 6 {
		var b store.Batch
		for range 700 {
			first := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
			f := store.Flow{First: first, Last: first.Add(time.Duration(rng.IntN(300)) * time.Second),
				Device: fmt.Sprintf("10.0.0.%d", rng.IntN(12)), Entity: ents[rng.IntN(len(ents))], Peer: "192.0.2.1",
				Name: fmt.Sprintf("n%d.example", rng.IntN(30)), Host: []string{"aws", "alibaba"}[rng.IntN(2)],
				Traffic: store.Traffic{BytesOut: uint64(rng.IntN(10000)), BytesIn: uint64(rng.IntN(10000)), PacketsOut: 3, PacketsIn: 4, Flows: uint64(1 + rng.IntN(3))}}
			if f.Entity != "" {
				f.Role = "owner"
			}
			b.Flows = append(b.Flows, f)
			q := store.Query{Time: start.Add(time.Duration(rng.Int64N(int64(end.Sub(start))))), Client: fmt.Sprintf("10.0.0.%d", rng.IntN(12)),
				Name: fmt.Sprintf("n%d.example", rng.IntN(30)), Verdict: []string{"allow", "block", "due"}[rng.IntN(3)]}
			if q.Verdict != "allow" {
				q.Rule, q.Entity = "r1", "tiktok"
			}
			b.Queries = append(b.Queries, q)
		}
		if err := db.Write(ctx, &b); err != nil {
			t.Fatal(err)
		}
		flows = append(flows, b.Flows...)
		queries = append(queries, b.Queries...)
	}
	periods := []struct{ since, until time.Time }{
		{start, end},
		{start.Add(24 * time.Hour), start.Add(72 * time.Hour)},
		{start.Add(5 * time.Hour), start.Add(50 * time.Hour)},
		{start.Add(30 * time.Hour), start.Add(31 * time.Hour)},
		{start.Add(47 * time.Hour), start.Add(49 * time.Hour)},
	}
	for range 10 {
		a := rng.IntN(240)
		b := a + 1 + rng.IntN(240-a)
		periods = append(periods, struct{ since, until time.Time }{start.Add(time.Duration(a) * time.Hour), start.Add(time.Duration(b) * time.Hour)})
	}
	for _, p := range periods {
		name := fmt.Sprintf("%s..%s", p.since.Format("02T15"), p.until.Format("02T15"))
		t.Run(name, func(t *testing.T) {
			// rollups count whole hours, and whole days for periods of 48 hours or more
			since, until := p.since, p.until
			if until.Sub(since) >= 48*time.Hour {
				since, until = since.Truncate(24*time.Hour), until.Add(24*time.Hour-time.Nanosecond).Truncate(24*time.Hour)
			}
			in := func(tt time.Time) bool { return !tt.Before(since) && tt.Before(until) }
			wantEnt := map[string]store.Traffic{}
			wantDevs := map[string]store.Traffic{}
			var wantQ, wantBlocked uint64
			for _, f := range flows {
				if !in(f.First.Truncate(time.Hour)) {
					continue
				}
				if f.Entity != "" {
					x := wantEnt[f.Entity]
					x.Add(f.Traffic)
					wantEnt[f.Entity] = x
				}
				x := wantDevs[f.Device]
				x.Add(f.Traffic)
				wantDevs[f.Device] = x
			}
			for _, q := range queries {
				if in(q.Time.Truncate(time.Hour)) {
					wantQ++
					if q.Verdict == "block" {
						wantBlocked++
					}
				}
			}
			f := store.Filter{Since: p.since, Until: p.until, Limit: 1000}
			ov, err := db.Overview(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]store.Traffic{}
			for _, e := range ov.Entities {
				if e.Period != (store.Traffic{}) {
					got[e.Entity.ID] = e.Period
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(wantEnt) {
				t.Errorf("entity totals\n got %v\nwant %v", got, wantEnt)
			}
			if ov.Queries != wantQ || ov.QueriesBlocked != wantBlocked {
				t.Errorf("queries %d blocked %d, want %d %d", ov.Queries, ov.QueriesBlocked, wantQ, wantBlocked)
			}
			ds, err := db.Devices(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			gotD := map[string]store.Traffic{}
			for _, d := range ds {
				if d.Total != (store.Traffic{}) {
					gotD[d.Device.ID] = d.Total
				}
			}
			if fmt.Sprint(gotD) != fmt.Sprint(wantDevs) {
				t.Errorf("device totals\n got %v\nwant %v", gotD, wantDevs)
			}
			var trend uint64
			for _, pt := range ov.Trend {
				trend += pt.BytesOut
			}
			var wantTrend uint64
			for _, x := range wantEnt {
				wantTrend += x.BytesOut
			}
			if trend != wantTrend {
				t.Errorf("trend sums to %d bytes out, entities to %d", trend, wantTrend)
			}
			// The detail rows agree with the rollups.
			fs, err := db.Flows(ctx, store.Filter{Since: since, Until: until, Limit: store.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			var n uint64
			for _, fl := range fs {
				n += fl.Flows
			}
			var wantN uint64
			for _, x := range wantDevs {
				wantN += x.Flows
			}
			if n != wantN {
				t.Errorf("flow rows sum to %d flows, rollups to %d", n, wantN)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t0)
	var v int
	if err := db.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("user_version %d (%v), want %d", v, err, schemaVersion)
	}
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	// Reopening applies nothing and keeps the data.
	cfg := store.Config{Path: path}
	db2, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := db2.Info(ctx)
	if err != nil || in.Flows != 5 {
		t.Errorf("after reopen: %+v %v", in, err)
	}
	// A store from a newer build is refused, not misread.
	if _, err := db2.w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if _, err := Open(ctx, cfg, nil); err == nil {
		t.Error("opened a store of a newer schema")
	}
	if _, err := OpenReadOnly(ctx, cfg, nil); err == nil {
		t.Error("opened a store of a newer schema read-only")
	}
	if _, err := OpenReadOnly(ctx, store.Config{Path: path + ".missing"}, nil); err == nil {
		t.Error("read-only open created a store")
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t0)
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	// another reader of the file sees rollups once they are flushed
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, store.Config{Path: db.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Write(ctx, fixture()); err == nil {
		t.Error("read-only store wrote")
	}
	ds, err := ro.Devices(ctx, store.Filter{})
	if err != nil || len(ds) != 2 {
		t.Errorf("read-only devices: %d %v", len(ds), err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(100 * 24 * time.Hour)
	cfg := store.DefaultConfig()
	cfg.Path = t.TempDir() + "/p.db"
	cfg.Retention = 30 * 24 * time.Hour
	cfg.RollupRetention = 60 * 24 * time.Hour
	db, err := OpenWith(ctx, cfg, nil, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b store.Batch
	for _, age := range []int{90, 45, 10} { // days before now
		at := now.Add(-time.Duration(age) * 24 * time.Hour)
		b.Flows = append(b.Flows, store.Flow{First: at, Device: "d1", Entity: "tiktok", Peer: "192.0.2.1", Traffic: store.Traffic{BytesOut: uint64(age), Flows: 1}})
		b.Queries = append(b.Queries, store.Query{Time: at, Client: "d1", Name: "x.example", Verdict: "allow"})
	}
	if err := db.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := db.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	fs, err := db.Flows(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].BytesOut != 10 {
		t.Errorf("detail rows after prune: %+v %v", fs, err)
	}
	ov, err := db.Overview(ctx, store.Filter{})
	if err != nil || len(ov.Entities) != 1 || ov.Entities[0].Period.BytesOut != 55 {
		t.Errorf("rollups after prune (want the 45- and 10-day-old rows): %+v %v", ov.Entities, err)
	}
	in, err := db.Info(ctx)
	if err != nil || in.Flows != 1 || in.Queries != 1 {
		t.Errorf("counters after prune: %+v %v", in, err)
	}
}

func TestWriteRejectsBadRows(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t0)
	for _, tc := range []struct {
		name string
		b    store.Batch
	}{
		{"flow without device", store.Batch{Flows: []store.Flow{{First: t0}}}},
		{"flow without time", store.Batch{Flows: []store.Flow{{Device: "d"}}}},
		{"query without time", store.Batch{Queries: []store.Query{{Client: "d", Name: "x"}}}},
		{"audit without app", store.Batch{Audits: []store.Audit{{Time: t0}}}},
		{"entity without id", store.Batch{Entities: []store.Entity{{Name: "x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// a good flow first: the batch is all or nothing
			b := tc.b
			b.Flows = append([]store.Flow{{First: t0, Device: "good", Peer: "192.0.2.9"}}, b.Flows...)
			if err := db.Write(ctx, &b); err == nil {
				t.Fatal("accepted")
			}
			fs, err := db.Flows(ctx, store.Filter{Devices: []string{"good"}})
			if err != nil || len(fs) != 0 {
				t.Errorf("a failed batch left rows: %+v %v", fs, err)
			}
		})
	}
	// the store still works after failed batches (dictionary cache reset)
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Error(err)
	}
}

// aggString is a's sums in key order, for comparisons.
func aggString(a *agg) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "rows %d\n", a.rows)
	for _, k := range sortedKeys(a.fh) {
		fmt.Fprintf(&sb, "fh %v %+v\n", k, *a.fh[k])
	}
	for _, k := range sortedKeys(a.hh) {
		fmt.Fprintf(&sb, "hh %v %+v\n", k, *a.hh[k])
	}
	for _, k := range sortedKeys(a.qh) {
		fmt.Fprintf(&sb, "qh %v %+v\n", k, *a.qh[k])
	}
	for _, k := range sortedKeys(a.nd) {
		fmt.Fprintf(&sb, "nd %v %+v\n", k, *a.nd[k])
	}
	return sb.String()
}

// TestSumAggs: two batches' sums summed in the memory of the larger one
// (as a batch's sums join the pending ones) equal the sums of all their
// rows, whichever of the two is larger.
func TestSumAggs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var fs []flowRec
	var qs []queryRec
	for range 500 {
		first := int64(rng.IntN(72)) * msHour / 2
		fs = append(fs, flowRec{first: first, last: first + int64(rng.IntN(600_000)), ent: int64(rng.IntN(4)), role: int64(rng.IntN(2)),
			name: int64(rng.IntN(5)), host: int64(rng.IntN(3)), hc: int64(rng.IntN(2)), bo: uint64(rng.IntN(1000)), bi: uint64(rng.IntN(1000)), po: 1, pi: 2, n: 1})
		qs = append(qs, queryRec{t: first, name: int64(rng.IntN(5)), verdict: int64(rng.IntN(3)), ent: int64(rng.IntN(3)), grp: int64(rng.IntN(2))})
	}
	fill := func(a *agg, lo, hi int) *agg {
		for i := lo; i < hi; i++ {
			dev := int64(i % 7)
			a.flow(dev, floorDiv(fs[i].first, msHour), &fs[i])
			a.query(dev, floorDiv(qs[i].t, msHour), &qs[i], 2)
		}
		return a
	}
	want := aggString(fill(newAgg(), 0, len(fs)))
	for _, cut := range []int{0, 50, 250, 450, 500} {
		if got := aggString(sum(fill(newAgg(), 0, cut), fill(newAgg(), cut, len(fs)))); got != want {
			t.Errorf("cut at %d: sums differ\n got %s\nwant %s", cut, got, want)
		}
	}
}

// TestFailedWriteKeepsPending: a batch whose transaction fails leaves the
// sums pending in memory as they were, and what the rollups then say is
// what the good batches wrote.
func TestFailedWriteKeepsPending(t *testing.T) {
	ctx := context.Background()
	db, err := OpenWith(ctx, store.Config{Path: filepath.Join(t.TempDir(), "s.db")}, nil, Options{RollupDelay: time.Hour, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	good := func(bo uint64) []store.Flow {
		var fs []store.Flow
		for i := range 40 {
			fs = append(fs, store.Flow{First: t0.Add(time.Duration(i) * 3 * time.Minute), Device: fmt.Sprintf("10.0.0.%d", i%4), Peer: "192.0.2.9",
				Entity: []string{"", "tiktok"}[i%2], Role: "owner", Name: "x.example", Host: "aws",
				Traffic: store.Traffic{BytesOut: bo, BytesIn: 2 * bo, PacketsOut: 1, PacketsIn: 1, Flows: 1}})
		}
		return fs
	}
	if err := db.Write(ctx, &store.Batch{Flows: good(100), Queries: []store.Query{{Time: t0, Client: "10.0.0.1", Name: "x.example", Verdict: "block", Rule: "r", Entity: "tiktok"}}}); err != nil {
		t.Fatal(err)
	}
	before, ranges := aggString(db.pend), len(db.pendRanges)
	if db.pend.rows != 41 || ranges != 2 {
		t.Fatalf("pending after the first batch: %d rows, %d ranges", db.pend.rows, ranges)
	}
	// the same keys again, then a row that fails the batch
	bad := store.Batch{Flows: append(good(7), store.Flow{Device: "10.0.0.1"}), Queries: []store.Query{{Time: t0, Client: "10.0.0.1", Name: "x.example"}}}
	if err := db.Write(ctx, &bad); err == nil {
		t.Fatal("a flow without a time was accepted")
	}
	if got := aggString(db.pend); got != before || len(db.pendRanges) != ranges {
		t.Errorf("a failed batch changed the pending sums\n got %s\nwant %s", got, before)
	}
	ov, err := db.Overview(ctx, store.Filter{Since: t0.Add(-time.Hour), Until: t0.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Entities) != 1 || ov.Entities[0].Period.BytesOut != 20*100 || ov.Entities[0].Period.Flows != 20 || ov.Queries != 1 {
		t.Errorf("rollups after a failed batch: %+v, %d queries", ov.Entities, ov.Queries)
	}
}
