package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Rollups are summed in memory and written to their tables at most every
// RollupDelay (or every rollupRows rows), in the transaction of a batch or
// of the background flush, together with the id of the last segment they
// include (meta rolled_flow, rolled_query). Detail rows are durable when
// Write returns; their rollups may lag by up to RollupDelay, and after a
// crash the segments past the mark are summed again at open. One upsert
// per key and flush instead of per key and batch is what lets ingest keep
// up with dense streams.

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

// flushRollups writes a into the rollup tables and moves the marks to the
// last segments, within w's transaction.
func (w *wtx) flushRollups(a *agg) error {
	if err := w.rollups(a); err != nil {
		return err
	}
	for _, t := range []string{"flow", "query"} {
		if _, err := w.exec("INSERT OR REPLACE INTO meta(k, v) VALUES ('rolled_" + t + "', (SELECT coalesce(max(id), 0) FROM " + t + "_seg))"); err != nil {
			return err
		}
	}
	return nil
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
	err = w.flushRollups(d.pend)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	d.prepareLater(ctx, w)
	if err != nil {
		return fmt.Errorf("sqlite: %s: rollups: %w", d.path, err)
	}
	d.pend, d.lastFlush = newAgg(), d.now()
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

// recoverRollups sums the segments written after the last rollup flush
// (a crash lost their in-memory sums) and writes them.
func (d *DB) recoverRollups(ctx context.Context) error {
	a := newAgg()
	var blockID int64
	d.w.QueryRowContext(ctx, "SELECT id FROM sym WHERE s = 'block'").Scan(&blockID)
	for _, t := range []string{"flow", "query"} {
		var mark int64
		if err := d.w.QueryRowContext(ctx, "SELECT coalesce((SELECT v FROM meta WHERE k = 'rolled_"+t+"'), 0)").Scan(&mark); err != nil {
			return fmt.Errorf("sqlite: %s: recover rollups: %w", d.path, err)
		}
		rows, err := d.w.QueryContext(ctx, "SELECT dev, h, data FROM "+t+"_seg WHERE id > ? ORDER BY id", mark)
		if err != nil {
			return fmt.Errorf("sqlite: %s: recover rollups: %w", d.path, err)
		}
		err = scanSegs(rows, func(dev, h int64, data []byte) error {
			if t == "flow" {
				return decodeFlows(data, h*msHour, func(r *flowRec) bool { a.flow(dev, h, r); return true })
			}
			return decodeQueries(data, h*msHour, func(q *queryRec) bool { a.query(dev, h, q, blockID); return true })
		})
		if err != nil {
			return fmt.Errorf("sqlite: %s: recover rollups: %w", d.path, err)
		}
	}
	if a.rows == 0 {
		return nil
	}
	d.log.Info("store: summing rows written after the last rollup flush", "rows", a.rows)
	d.pend = a
	d.pendSince = d.now()
	return d.flushPending(ctx)
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
