package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// partRows is a batch of 3 hours x 40 devices x 5 rows of flows and of
// queries, the rows of each device and hour one after another (grouped)
// or the devices and hours in turn.
func partRows(grouped bool) store.Batch {
	var b store.Batch
	type key struct{ h, dev int }
	var keys []key
	for h := range 3 {
		for dev := range 40 {
			keys = append(keys, key{h, dev})
		}
	}
	add := func(k key, j int) {
		at := t0.Add(time.Duration(k.h)*time.Hour + time.Duration(j*7+k.dev)*time.Second)
		dev := fmt.Sprintf("10.1.0.%d", k.dev)
		b.Flows = append(b.Flows, store.Flow{First: at, Last: at.Add(time.Duration(j) * time.Second), Device: dev, Peer: fmt.Sprintf("192.0.2.%d", j),
			Port: uint16(443 + j), Proto: "tcp", Name: fmt.Sprintf("n%d.example", j), Entity: []string{"", "tiktok"}[j%2], Role: "owner", Source: "t",
			Traffic: store.Traffic{BytesOut: uint64(100*k.dev + j), BytesIn: uint64(k.h), PacketsOut: 1, PacketsIn: 2, Flows: 1}})
		b.Queries = append(b.Queries, store.Query{Time: at, Client: dev, Name: fmt.Sprintf("q%d.example", j), Type: 1, Verdict: "allow"})
	}
	if grouped {
		for _, k := range keys {
			for j := range 5 {
				add(k, j)
			}
		}
	} else {
		for j := range 5 {
			for _, k := range keys {
				add(k, j)
			}
		}
	}
	return b
}

// readAll is every flow and query row of the store, as sorted text.
func readAll(t *testing.T, db *DB) []string {
	t.Helper()
	ctx := context.Background()
	f := store.Filter{Since: t0.Add(-time.Hour), Until: t0.Add(4 * time.Hour), Limit: store.MaxLimit}
	fs, err := db.Flows(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := db.Queries(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range fs {
		out = append(out, fmt.Sprintf("%+v", x))
	}
	for _, x := range qs {
		out = append(out, fmt.Sprintf("%+v", x))
	}
	slices.Sort(out)
	return out
}

// TestSegmentsInParts: a batch written in parts (segments inserted as
// they complete, or as the bytes held reach the budget) reads back as the
// same batch written whole, every device and hour of grouped rows in one
// segment; seg_pending names every part, so that a recovery sums what the
// writer holds in memory.
func TestSegmentsInParts(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, b store.Batch, budget, eager int) (*DB, int) {
		t.Helper()
		defer func(b, e int) { segBudget, segEager = b, e }(segBudget, segEager)
		segBudget, segEager = budget, eager
		db, err := OpenWith(ctx, store.Config{Path: filepath.Join(t.TempDir(), "s.db")}, nil, Options{RollupDelay: time.Hour, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Write(ctx, &b); err != nil {
			t.Fatal(err)
		}
		var segs, rows int
		if err := db.r.QueryRowContext(ctx, "SELECT count(*), sum(n) FROM flow_seg").Scan(&segs, &rows); err != nil {
			t.Fatal(err)
		}
		if rows != len(b.Flows) {
			t.Errorf("flow segments hold %d rows, want %d", rows, len(b.Flows))
		}
		// what a recovery would sum is what the writer holds
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		a, err := (&wtx{d: db, ctx: ctx, tx: tx}).sumPending()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aggString(a), aggString(db.pend); got != want {
			t.Errorf("seg_pending sums\n%s\nthe writer holds\n%s", got, want)
		}
		return db, segs
	}
	const keys = 3 * 40
	whole, segs := write(t, partRows(true), 1<<30, 1<<30)
	if segs != keys {
		t.Fatalf("whole: %d segments, want one per device and hour (%d)", segs, keys)
	}
	want := readAll(t, whole)
	if len(want) != 2*5*keys {
		t.Fatalf("whole: read %d rows back", len(want))
	}
	for _, tc := range []struct {
		name          string
		grouped       bool
		budget, eager int
		segs          func(n int) bool
	}{
		{"grouped, a segment at a time", true, 1 << 30, 1, func(n int) bool { return n == keys }},
		{"grouped, small budget", true, 200, 1, func(n int) bool { return n >= keys }},
		{"in turn", false, 1 << 30, 1 << 30, func(n int) bool { return n == keys }},
		{"in turn, a segment at a time until they come again", false, 1 << 30, 1, func(n int) bool { return n == 2*keys-1 }},
		{"in turn, small budget", false, 200, 1 << 30, func(n int) bool { return n > keys }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, n := write(t, partRows(tc.grouped), tc.budget, tc.eager)
			if !tc.segs(n) {
				t.Errorf("%d flow segments", n)
			}
			if got := readAll(t, db); !slices.Equal(got, want) {
				t.Errorf("read back %d rows, differing from the batch written whole", len(got))
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Errorf("first difference:\n got %s\nwant %s", got[i], want[i])
						break
					}
				}
			}
		})
	}
}
