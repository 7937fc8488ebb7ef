package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// An ingest is one transaction from BeginIngest to Commit, holding the
// writer (wmu) throughout: the rows of a whole input commit with its
// fingerprint or not at all, so a kill -9 half way leaves nothing to
// count twice and nothing to clean up (SQLite rolls the WAL back at the
// next open). Rollup sums stay in the ingest until Commit, which writes
// them with the pending ones and moves the marks, as a flushing Write
// does. Streams (the resolver's query log, the audit feed) keep using
// Write: they have no file to fingerprint.

var _ store.Ingester = (*DB)(nil)

type ingest struct {
	d           *DB
	ctx         context.Context
	tx          *sql.Tx
	inputs      []store.Input
	a           *agg
	local       map[string]*sql.Stmt
	first, last int64
	done        bool
}

// BeginIngest starts an ingest of inputs; see store.Ingester.
func (d *DB) BeginIngest(ctx context.Context, inputs []store.Input, again bool) (store.Ingest, error) {
	if d.ro {
		return nil, ErrReadOnly
	}
	d.wmu.Lock()
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		d.wmu.Unlock()
		return nil, fmt.Errorf("sqlite: %s: begin: %w", d.path, err)
	}
	g := &ingest{d: d, ctx: ctx, tx: tx, inputs: inputs, a: newAgg()}
	if !again {
		for _, in := range inputs {
			prev, err := g.find(in)
			if err == nil && prev != nil {
				err = &store.IngestedError{Input: in, Prev: *prev}
			}
			if err != nil {
				g.Close()
				return nil, err
			}
		}
	}
	return g, nil
}

// find returns the latest earlier ingest of in's file, or nil.
func (g *ingest) find(in store.Input) (*store.Input, error) {
	var p store.Input
	var first, last, at int64
	err := g.tx.QueryRowContext(g.ctx, "SELECT path, size, head, tail, first, last, at FROM ingest WHERE size = ? AND head = ? AND tail = ? ORDER BY id DESC LIMIT 1",
		in.Size, in.Head, in.Tail).Scan(&p.Path, &p.Size, &p.Head, &p.Tail, &first, &last, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: ingested inputs: %w", g.d.path, err)
	}
	p.First, p.Last, p.At = fromMS(first), fromMS(last), fromMS(at)
	return &p, nil
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Write adds a batch to the ingest. On error the whole ingest is rolled
// back and every later call fails.
func (g *ingest) Write(ctx context.Context, b *store.Batch) error {
	if g.done {
		return fmt.Errorf("sqlite: %s: ingest already ended", g.d.path)
	}
	if b == nil || b.Len() == 0 {
		return nil
	}
	w := &wtx{d: g.d, ctx: g.ctx, tx: g.tx, a: newAgg(), local: g.local}
	ids, err := w.write(b)
	g.local = w.local
	if err == nil && g.a.rows+w.a.rows >= rollupRows {
		// sums this large go to the tables now, inside the transaction;
		// the marks move at Commit
		g.a = sum(g.a, w.a)
		if err = w.rollups(g.a); err == nil {
			g.a = newAgg()
		}
	} else if err == nil {
		g.a = sum(g.a, w.a)
	}
	if err != nil {
		g.Close()
		return fmt.Errorf("sqlite: %s: %w", g.d.path, err)
	}
	for f := range b.AllFlows() {
		g.span(ms(f.First), ms(f.Last))
	}
	for _, q := range b.Queries {
		g.span(ms(q.Time), ms(q.Time))
	}
	for i, id := range ids {
		b.Audits[i].ID = id
	}
	return nil
}

func (g *ingest) span(first, last int64) {
	if first != 0 && (g.first == 0 || first < g.first) {
		g.first = first
	}
	g.last = max(g.last, last)
}

// Commit records the inputs and commits everything written.
func (g *ingest) Commit(ctx context.Context) error {
	if g.done {
		return fmt.Errorf("sqlite: %s: ingest already ended", g.d.path)
	}
	d := g.d
	w := &wtx{d: d, ctx: g.ctx, tx: g.tx, local: g.local}
	at := d.now().UnixMilli()
	var err error
	for _, in := range g.inputs {
		if _, err = w.exec("INSERT INTO ingest(path, size, head, tail, first, last, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			in.Path, in.Size, in.Head, in.Tail, g.first, g.last, at); err != nil {
			break
		}
	}
	if err == nil {
		err = w.flushRollups(d.pend, d.pendRanges, g.a)
	}
	if err == nil {
		if err = g.tx.Commit(); err != nil {
			err = fmt.Errorf("sqlite: %s: commit: %w", d.path, err)
		}
	} else {
		g.tx.Rollback()
		err = fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	g.done = true
	d.prepareLater(ctx, w)
	if err != nil {
		d.dict = newDict()
	} else {
		d.pend, d.pendRanges, d.lastFlush = newAgg(), nil, d.now()
	}
	d.wmu.Unlock()
	if err == nil && d.now().Sub(d.lastPrune) > 10*time.Minute {
		d.wmu.Lock()
		if perr := d.prune(ctx); perr != nil {
			d.log.Warn("store: prune failed", "err", perr)
		}
		d.wmu.Unlock()
	}
	return err
}

// Close abandons the ingest unless it was committed: nothing it wrote is
// kept.
func (g *ingest) Close() error {
	if g.done {
		return nil
	}
	g.done = true
	err := g.tx.Rollback()
	// dictionary ids cached during the ingest may be of rolled-back rows
	g.d.dict = newDict()
	g.d.wmu.Unlock()
	return err
}

// Ingested lists the inputs the store took, newest first.
func (d *DB) Ingested(ctx context.Context) ([]store.Input, error) {
	rows, err := d.r.QueryContext(ctx, "SELECT path, size, head, tail, first, last, at FROM ingest ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: ingested inputs: %w", d.path, err)
	}
	defer rows.Close()
	var out []store.Input
	for rows.Next() {
		var p store.Input
		var first, last, at int64
		if err := rows.Scan(&p.Path, &p.Size, &p.Head, &p.Tail, &first, &last, &at); err != nil {
			return nil, fmt.Errorf("sqlite: %s: ingested inputs: %w", d.path, err)
		}
		p.First, p.Last, p.At = fromMS(first), fromMS(last), fromMS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
