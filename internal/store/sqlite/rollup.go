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

// agg is rollup deltas keyed by dictionary ids. It holds the hourly sums
// only: a day's (flow_m, host_d, query_m) are those of its hours, summed
// as they are written (addDay, dayT), which halves what a writer holds
// between flushes.
type agg struct {
	fh   map[[4]int64]*tagg // h, dev, ent, role
	hh   map[[4]int64]*tagg // h, ent, host, hc
	qh   map[[6]int64]*qagg // h, dev, grp, rule, ent, verdict
	nd   map[[3]int64]*nagg // d, name, ent (names of entities only)
	rows int
}

func newAgg() *agg {
	return &agg{fh: map[[4]int64]*tagg{}, hh: map[[4]int64]*tagg{}, qh: map[[6]int64]*qagg{}, nd: map[[3]int64]*nagg{}}
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
	addT(a.fh, [4]int64{h, dev, r.ent, r.role}, r)
	addT(a.hh, [4]int64{h, r.ent, r.host, r.hc}, r)
	if r.name != 0 && r.ent != 0 {
		k := [3]int64{floorDiv(h, 24), r.name, r.ent}
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
	k := [6]int64{h, dev, q.grp, q.rule, q.ent, q.verdict}
	x := a.qh[k]
	if x == nil {
		x = &qagg{first: q.t, last: q.t}
		a.qh[k] = x
	}
	x.n++
	x.first = min(x.first, q.t)
	x.last = max(x.last, q.t)
	if q.name != 0 && q.ent != 0 {
		k := [3]int64{floorDiv(h, 24), q.name, q.ent}
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

func (d *tagg) merge(s *tagg) {
	d.bo += s.bo
	d.bi += s.bi
	d.po += s.po
	d.pi += s.pi
	d.n += s.n
	d.first = min(d.first, s.first)
	d.last = max(d.last, s.last)
}

func (d *qagg) merge(s *qagg) {
	d.n += s.n
	d.first = min(d.first, s.first)
	d.last = max(d.last, s.last)
}

func (d *nagg) merge(s *nagg) {
	d.bo += s.bo
	d.bi += s.bi
	d.po += s.po
	d.pi += s.pi
	d.n += s.n
	d.q += s.q
	d.qb += s.qb
	d.last = max(d.last, s.last)
}

// mergeMaps sums a and b into the larger of the two, which it returns;
// the smaller one's values may be taken into it as they are, so neither
// map is to be used again.
func mergeMaps[K comparable, V any, P interface {
	*V
	merge(*V)
}](a, b map[K]P) map[K]P {
	if len(a) < len(b) {
		a, b = b, a
	}
	for k, s := range b {
		if d := a[k]; d != nil {
			d.merge(s)
		} else {
			a[k] = s
		}
	}
	return a
}

// sum is the sums of a and b, in the memory of the larger of them: a
// and b are not to be used again. A batch's sums become the pending ones
// this way without a copy of either.
func sum(a, b *agg) *agg {
	a.fh = mergeMaps(a.fh, b.fh)
	a.hh = mergeMaps(a.hh, b.hh)
	a.qh = mergeMaps(a.qh, b.qh)
	a.nd = mergeMaps(a.nd, b.nd)
	a.rows += b.rows
	return a
}

// dayT is m's hourly sums summed per day: keys with the day in place of
// the hour.
func dayT(m map[[4]int64]*tagg) map[[4]int64]*tagg {
	out := make(map[[4]int64]*tagg, len(m)/2)
	for k, x := range m {
		k[0] = floorDiv(k[0], 24)
		if d := out[k]; d != nil {
			d.merge(x)
		} else {
			c := *x
			out[k] = &c
		}
	}
	return out
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
