package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Rollups are summed in memory and written to their tables at most every
// RollupDelay (or every rollupRows rows), in the transaction of a batch or
// of the background flush. Detail rows are durable when Write returns;
// their rollups may lag by up to RollupDelay. The segments whose sums
// wait in memory are noted in seg_pending (one id range per table and
// batch: a transaction's segments have consecutive ids, SQLite letting
// one writer in at a time), in the batch's transaction, and forgotten in
// the transaction that writes their sums. Only the process holding the
// writer lock (PATH.writer) keeps sums in memory, and it sums again at
// open what seg_pending still names: what a crashed holder left. Another
// writing process writes its rollups with each batch and notes nothing,
// so no rows are summed twice. One upsert per key and flush instead of
// per key and batch is what lets ingest keep up with dense streams.

// segRange is the segments of one table that one transaction wrote.
type segRange struct {
	tbl    string // "flow" or "query"
	lo, hi int64
}

// rollupRows bounds the rows summed in memory before a flush.
const rollupRows = 2_000_000

// agg is rollup deltas keyed by dictionary ids.
type agg struct {
	fh, fd map[[4]int64]*tagg // h|d, dev, ent, role
	hh, hd map[[4]int64]*tagg // h|d, ent, host, hc
	qh, qd map[[6]int64]*qagg // h|d, dev, grp, rule, ent, verdict
	nd     map[[3]int64]*nagg // d, name, ent (names of entities only)
	rows   int
}

func newAgg() *agg {
	return &agg{fh: map[[4]int64]*tagg{}, fd: map[[4]int64]*tagg{}, hh: map[[4]int64]*tagg{}, hd: map[[4]int64]*tagg{},
		qh: map[[6]int64]*qagg{}, qd: map[[6]int64]*qagg{}, nd: map[[3]int64]*nagg{}}
}

func addT[K [4]int64](m map[K]*tagg, k K, r *flowRec) {
	a := m[k]
	if a == nil {
		a = &tagg{first: r.first, last: r.last}
		m[k] = a
	}
	a.add(r)
}

func (a *agg) flow(dev, h int64, r *flowRec) {
	a.rows++
	day := floorDiv(h, 24)
	addT(a.fh, [4]int64{h, dev, r.ent, r.role}, r)
	addT(a.fd, [4]int64{day, dev, r.ent, r.role}, r)
	addT(a.hh, [4]int64{h, r.ent, r.host, r.hc}, r)
	addT(a.hd, [4]int64{day, r.ent, r.host, r.hc}, r)
	if r.name != 0 && r.ent != 0 {
		k := [3]int64{day, r.name, r.ent}
		n := a.nd[k]
		if n == nil {
			n = &nagg{}
			a.nd[k] = n
		}
		n.bo += r.bo
		n.bi += r.bi
		n.po += r.po
		n.pi += r.pi
		n.n += r.n
		n.last = max(n.last, r.last)
	}
}

func (a *agg) query(dev, h int64, q *queryRec, blockID int64) {
	a.rows++
	day := floorDiv(h, 24)
	for _, m := range [...]struct {
		m map[[6]int64]*qagg
		t int64
	}{{a.qh, h}, {a.qd, day}} {
		k := [6]int64{m.t, dev, q.grp, q.rule, q.ent, q.verdict}
		x := m.m[k]
		if x == nil {
			x = &qagg{first: q.t, last: q.t}
			m.m[k] = x
		}
		x.n++
		x.first = min(x.first, q.t)
		x.last = max(x.last, q.t)
	}
	if q.name != 0 && q.ent != 0 {
		k := [3]int64{day, q.name, q.ent}
		n := a.nd[k]
		if n == nil {
			n = &nagg{}
			a.nd[k] = n
		}
		n.q++
		if q.verdict == blockID && blockID != 0 {
			n.qb++
		}
		n.last = max(n.last, q.t)
	}
}

func mergeT[K [4]int64](dst, src map[K]*tagg) {
	for k, s := range src {
		d := dst[k]
		if d == nil {
			c := *s
			dst[k] = &c
			continue
		}
		d.bo += s.bo
		d.bi += s.bi
		d.po += s.po
		d.pi += s.pi
		d.n += s.n
		d.first = min(d.first, s.first)
		d.last = max(d.last, s.last)
	}
}

func mergeQ(dst, src map[[6]int64]*qagg) {
	for k, s := range src {
		d := dst[k]
		if d == nil {
			c := *s
			dst[k] = &c
			continue
		}
		d.n += s.n
		d.first = min(d.first, s.first)
		d.last = max(d.last, s.last)
	}
}

// mergeInto adds o into a.
func (a *agg) mergeInto(o *agg) {
	mergeT(a.fh, o.fh)
	mergeT(a.fd, o.fd)
	mergeT(a.hh, o.hh)
	mergeT(a.hd, o.hd)
	mergeQ(a.qh, o.qh)
	mergeQ(a.qd, o.qd)
	for k, s := range o.nd {
		d := a.nd[k]
		if d == nil {
			c := *s
			a.nd[k] = &c
			continue
		}
		d.bo += s.bo
		d.bi += s.bi
		d.po += s.po
		d.pi += s.pi
		d.n += s.n
		d.q += s.q
		d.qb += s.qb
		d.last = max(d.last, s.last)
	}
	a.rows += o.rows
}

// flushRollups writes pend (the sums of the segments ranges name) and a
// (sums of segments never noted) into the rollup tables and forgets
// ranges, within w's transaction.
func (w *wtx) flushRollups(pend *agg, ranges []segRange, a *agg) error {
	for _, x := range []*agg{pend, a} {
		if x != nil && x.rows > 0 {
			if err := w.rollups(x); err != nil {
				return err
			}
		}
	}
	for _, r := range ranges {
		if _, err := w.exec("DELETE FROM seg_pending WHERE tbl = ? AND lo = ?", r.tbl, r.lo); err != nil {
			return err
		}
	}
	return nil
}

// notePending notes ranges in seg_pending, within w's transaction.
func (w *wtx) notePending(ranges []segRange) error {
	for _, r := range ranges {
		if _, err := w.exec("INSERT OR REPLACE INTO seg_pending(tbl, lo, hi) VALUES (?, ?, ?)", r.tbl, r.lo, r.hi); err != nil {
			return err
		}
	}
	return nil
}

// maxSegs is the largest segment id of each table, within w's
// transaction.
func (w *wtx) maxSegs() (flow, query int64, err error) {
	if err = w.tx.QueryRowContext(w.ctx, "SELECT (SELECT coalesce(max(id), 0) FROM flow_seg), (SELECT coalesce(max(id), 0) FROM query_seg)").Scan(&flow, &query); err != nil {
		return 0, 0, err
	}
	return flow, query, nil
}

// segsSince is what w wrote past the largest ids before it, as ranges.
func (w *wtx) segsSince(flow0, query0 int64) ([]segRange, error) {
	flow1, query1, err := w.maxSegs()
	if err != nil {
		return nil, err
	}
	var out []segRange
	if flow1 > flow0 {
		out = append(out, segRange{"flow", flow0 + 1, flow1})
	}
	if query1 > query0 {
		out = append(out, segRange{"query", query0 + 1, query1})
	}
	return out, nil
}

// flushPending writes the pending rollups in a transaction of their own.
// The caller holds wmu.
func (d *DB) flushPending(ctx context.Context) error {
	if d.pend == nil || d.pend.rows == 0 {
		return nil
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: rollups: %w", d.path, err)
	}
	w := &wtx{d: d, ctx: ctx, tx: tx}
	err = w.flushRollups(d.pend, d.pendRanges, nil)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	d.prepareLater(ctx, w)
	if err != nil {
		return fmt.Errorf("sqlite: %s: rollups: %w", d.path, err)
	}
	d.pend, d.pendRanges, d.lastFlush = newAgg(), nil, d.now()
	return nil
}

// flusher writes pending rollups once they are RollupDelay old, until
// stop is closed.
func (d *DB) flusher(delay time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(delay / 2)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.wmu.Lock()
			if d.pend.rows > 0 && time.Since(d.pendSince) >= delay {
				if err := d.flushPending(context.Background()); err != nil {
					d.log.Warn("store: rollup flush failed", "err", err)
				}
			}
			d.wmu.Unlock()
		}
	}
}

// recoverRollups sums the segments seg_pending names (a crash of the
// writer lock's holder lost their sums in memory) and writes them, in
// one transaction. The caller holds the writer lock: no other process
// keeps sums of its own.
func (d *DB) recoverRollups(ctx context.Context) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: recover rollups: %w", d.path, err)
	}
	w := &wtx{d: d, ctx: ctx, tx: tx}
	a, err := w.sumPending()
	if err == nil && a.rows > 0 {
		d.log.Info("store: summing rows written after the last rollup flush", "rows", a.rows)
		err = w.flushRollups(nil, nil, a)
	}
	if err == nil {
		_, err = w.exec("DELETE FROM seg_pending")
	}
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	d.prepareLater(ctx, w)
	if err != nil {
		d.dict = newDict()
		return fmt.Errorf("sqlite: %s: recover rollups: %w", d.path, err)
	}
	return nil
}

// sumPending sums the segments of every range seg_pending names.
func (w *wtx) sumPending() (*agg, error) {
	a := newAgg()
	var blockID int64
	w.tx.QueryRowContext(w.ctx, "SELECT id FROM sym WHERE s = 'block'").Scan(&blockID)
	rows, err := w.tx.QueryContext(w.ctx, "SELECT tbl, lo, hi FROM seg_pending ORDER BY tbl, lo")
	if err != nil {
		return nil, err
	}
	var ranges []segRange
	for rows.Next() {
		var r segRange
		if err := rows.Scan(&r.tbl, &r.lo, &r.hi); err != nil {
			rows.Close()
			return nil, err
		}
		ranges = append(ranges, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range ranges {
		if r.tbl != "flow" && r.tbl != "query" {
			return nil, fmt.Errorf("seg_pending names a table %q", r.tbl)
		}
		segs, err := w.tx.QueryContext(w.ctx, "SELECT dev, h, data FROM "+r.tbl+"_seg WHERE id BETWEEN ? AND ? ORDER BY id", r.lo, r.hi)
		if err != nil {
			return nil, err
		}
		err = scanSegs(segs, func(dev, h int64, data []byte) error {
			if r.tbl == "flow" {
				return decodeFlows(data, h*msHour, func(f *flowRec) bool { a.flow(dev, h, f); return true })
			}
			return decodeQueries(data, h*msHour, func(q *queryRec) bool { a.query(dev, h, q, blockID); return true })
		})
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

func scanSegs(rows *sql.Rows, fn func(dev, h int64, data []byte) error) error {
	defer rows.Close()
	for rows.Next() {
		var dev, h int64
		var data []byte
		if err := rows.Scan(&dev, &h, &data); err != nil {
			return err
		}
		if err := fn(dev, h, data); err != nil {
			return err
		}
	}
	return rows.Err()
}
