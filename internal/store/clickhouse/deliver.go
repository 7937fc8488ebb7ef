package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/outflow-dev/outflow/internal/store/clickhouse/spool"
)

// Delivery. A batch is one insert per table (dimensions first; a large
// table's rows in a few at once) and then a row in batches naming it:
// that row is written last, so a batch named there is wholly stored.
// ClickHouse has no transaction over tables, and a server that dies
// mid-batch can hold part of it; the batch then goes to the spool with
// the rest, and its replay first asks what the server holds: nothing
// when batches names it, otherwise every row whose key (the sequence
// number each row carries, or the audit or alert ID) is already there is
// left out. So a batch is counted once however often it is replayed.

// keyCol is, per table, the column whose value is unique to a row of a
// batch; names has none and is idempotent (read with DISTINCT).
var keyCol = map[string]int{"sym": 1, "ent_v": 0, "dev_v": 0, "rule_v": 0, "flow": 21, "query": 15, "evidence": 8,
	"audit": 0, "finding": 0, "inventory_v": 9, "ingest": 0, "bypass": 16, "alert": 0}

// hourCol: tables partitioned by hour, where the batch's hours prune the
// replay's check, and which carry the batch id.
var hourCol = map[string]int{"flow": 0, "query": 1}

// unreachable tells a failure to reach the server (spool and retry)
// from the server refusing the batch (the caller's error).
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ex *ch.Exception
	return !errors.As(err, &ex)
}

// deliver sends p, or spools it. Callers hold wmu.
func (d *DB) deliver(ctx context.Context, p *payload, st *spool.Stage) error {
	for _, t := range p.Tables {
		if err := t.check(); err != nil {
			return err
		}
	}
	if st != nil {
		data, err := p.encode()
		if err == nil {
			err = st.Append(data)
		}
		return err
	}
	if d.sp != nil && d.sp.Len() > 0 {
		return d.spool(p, nil) // after the batches waiting there
	}
	err := d.send(ctx, p, false)
	if err == nil || d.sp == nil || !unreachable(ctx, err) {
		return err
	}
	return d.spool(p, err)
}

// spool appends p to the spool; why is the send error that sent it there.
func (d *DB) spool(p *payload, why error) error {
	data, err := p.encode()
	if err == nil {
		err = d.sp.Append(data)
	}
	if errors.Is(err, spool.ErrFull) {
		d.m.spoolFull.Inc()
		if why != nil {
			return fmt.Errorf("server unreachable (%v) and %w", why, err)
		}
		return fmt.Errorf("server behind (%d batches spooled) and %w", d.sp.Len(), err)
	}
	if err != nil {
		return err
	}
	d.m.spooled.Inc()
	if why != nil && d.warned.Add(1) == 1 {
		d.log.Warn("clickhouse: server unreachable, spooling batches", "server", d.cfg.String(), "spool", d.sp.Dir, "err", why)
	}
	select {
	case d.kick <- struct{}{}:
	default:
	}
	return nil
}

// insertCtx asks a cluster's Distributed tables to insert on the shards
// before answering, so that an acknowledged batch is on the shards and
// a read that follows sees it.
func (d *DB) insertCtx(ctx context.Context) context.Context {
	if d.cfg.Cluster == "" {
		return ctx
	}
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
}

// send inserts p's tables column by column, then names p in batches.
// A replay first leaves out what the server holds.
func (d *DB) send(ctx context.Context, p *payload, replay bool) error {
	if replay {
		var done bool
		var err error
		if p, done, err = d.missing(ctx, p); err != nil || done {
			return err
		}
	}
	if err := d.insert(ctx, p.Tables); err != nil {
		return err
	}
	bt, err := d.conn.PrepareBatch(d.insertCtx(ctx), "INSERT INTO "+d.t("batches")+" (id, at, rows)")
	if err != nil {
		return fmt.Errorf("batches: %w", err)
	}
	if err := bt.Append(p.Batch, p.At, p.rows()); err != nil {
		bt.Abort()
		return fmt.Errorf("batches: %w", err)
	}
	if err := bt.Send(); err != nil {
		return fmt.Errorf("batches: %w", err)
	}
	return nil
}

// blockRows is the rows of one native block of an insert. A table's rows
// go in blocks of this many, all in the same INSERT (the server squashes
// them into parts of up to min_insert_block_size_rows, a million by
// default, as it did a single block): the driver then reuses one
// block's column buffers instead of growing them to the whole batch from
// empty for every insert, which was half the writer's CPU at 500,000 rows
// (BenchmarkWriteFlows, docs/benchmarks.md). 16,384 rather than 65,536:
// the driver's buffers of one block grow anew for every insert, and a
// quarter of them is a quarter of the writer's allocations (39 instead
// of 139 MB per 500,000-row batch), for the same work on the server.
const blockRows = 1 << 14

// sortKey is, per table, the columns of its ORDER BY (dev, h): their
// rows are sent in that order (sortPerm), and the server, finding each
// block already sorted, writes the part without sorting it (permuting a
// 500,000-row block's columns, the comparisons and the page faults of
// the copies were about a sixth of its work per batch).
var sortKey = map[string][2]int{"flow": {3, 0}, "query": {2, 1}}

// partRows is the fewest rows of one of a table's concurrent inserts (a
// variable for tests): the sensor's batches of up to 250,000 rows go in
// two; a scan feed's of 100,000 in one, where two gave mixed results.
var partRows = 1 << 16

// insert sends tables, one after another, a column at a time in blocks
// of blockRows; flow and query in the order of their ORDER BY. A table
// of at least twice partRows goes in up to cfg.Inserts inserts of
// consecutive rows at once, each on its own connection: on one insert
// the server works on a single core, and its work after the last block
// (squashing the blocks, writing the part, the views' rollups) is about
// half of its CPU per batch, with the writer waiting. A batch was
// already one insert per table, not a transaction: its rows carry keys,
// and a replay leaves out those the server holds. The first insert to
// fail cancels the others; one that had finished, or got too far to
// stop, keeps its rows, as a table inserted before a failing one does
// (see the top of this file).
func (d *DB) insert(ctx context.Context, tables []*tab) error {
	ictx := d.insertCtx(ctx)
	for _, t := range tables {
		n := t.rows()
		if n == 0 {
			continue
		}
		var perm []int32
		if k, ok := sortKey[t.Name]; ok {
			perm = sortPerm(t.Cols[k[0]].S, t.Cols[k[1]].I)
		}
		parts := max(1, min(d.cfg.Inserts, n/partRows))
		if parts == 1 {
			if err := d.insertRows(ictx, t, perm, 0, n); err != nil {
				return err
			}
			d.m.rows.Add(float64(n))
			continue
		}
		pctx, cancel := context.WithCancel(ictx)
		errs := make([]error, parts)
		var first atomic.Int32 // the insert that failed first, and cancelled the others
		first.Store(-1)
		var wg sync.WaitGroup
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if errs[p] = d.insertRows(pctx, t, perm, p*n/parts, (p+1)*n/parts); errs[p] != nil {
					first.CompareAndSwap(-1, int32(p))
					cancel()
				}
			}()
		}
		wg.Wait()
		cancel()
		if err := firstErr(errs, int(first.Load())); err != nil {
			return err
		}
		d.m.rows.Add(float64(n))
	}
	return nil
}

// firstErr is the error of concurrent inserts that says most: the
// server's refusal (the caller's error, not spooled), whichever insert
// met it; else the error of the insert that failed first (first, or -1),
// not what the cancel it caused made of the others (a closed connection,
// context.Canceled). A cancelled insert may still have stored its rows:
// the driver sends its blocks before it looks at the context.
func firstErr(errs []error, first int) error {
	for _, err := range errs {
		var ex *ch.Exception
		if errors.As(err, &ex) {
			return err
		}
	}
	if first >= 0 && first < len(errs) && errs[first] != nil {
		return errs[first]
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// insertRows sends rows lo to hi of t (of perm, when it orders them) in
// one insert.
func (d *DB) insertRows(ctx context.Context, t *tab, perm []int32, lo, hi int) error {
	bt, err := d.conn.PrepareBatch(ctx, "INSERT INTO "+d.t(t.Name)+" ("+columns[t.Name]+")")
	if err != nil {
		return fmt.Errorf("%s: %w", t.Name, err)
	}
	var scratch []col
	if perm != nil {
		scratch = make([]col, len(t.Cols))
	}
	for b := lo; b < hi; b += blockRows {
		e := min(b+blockRows, hi)
		for i := range t.Cols {
			var v any
			if perm != nil {
				v = t.Cols[i].gather(perm[b:e], &scratch[i])
			} else {
				v = t.Cols[i].slice(b, e)
			}
			if err := bt.Column(i).Append(v); err != nil {
				bt.Abort()
				return fmt.Errorf("%s: column %d: %w", t.Name, i, err)
			}
		}
		if e < hi {
			if err := bt.Flush(); err != nil {
				bt.Abort()
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
	}
	if err := bt.Send(); err != nil {
		return fmt.Errorf("%s: %w", t.Name, err)
	}
	return nil
}

// missing is what of p the server does not hold; done when it holds
// all of it.
func (d *DB) missing(ctx context.Context, p *payload) (*payload, bool, error) {
	var n uint64
	if err := d.conn.QueryRow(ctx, "SELECT count() FROM "+d.t("batches")+" WHERE id = ?", p.Batch).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("batches: %w", err)
	}
	if n > 0 {
		d.m.replaySkipped.Add(float64(p.rows()))
		return nil, true, nil
	}
	out := &payload{Batch: p.Batch, At: p.At}
	for _, t := range p.Tables {
		k, ok := keyCol[t.Name]
		if !ok || t.rows() == 0 {
			out.Tables = append(out.Tables, t)
			continue
		}
		keys := t.Cols[k].I
		lo, hi := keys[0], keys[0]
		for _, v := range keys {
			lo, hi = min(lo, v), max(hi, v)
		}
		name := strings.TrimSpace(strings.Split(columns[t.Name], ",")[k])
		q := "SELECT toInt64(" + name + ") FROM " + d.t(t.Name) + " WHERE " + name + " BETWEEN ? AND ?"
		args := []any{lo, hi}
		if hc, ok := hourCol[t.Name]; ok {
			hs := t.Cols[hc].I
			hlo, hhi := hs[0], hs[0]
			for _, v := range hs {
				hlo, hhi = min(hlo, v), max(hhi, v)
			}
			q += " AND h BETWEEN ? AND ? AND batch = ?"
			args = append(args, hlo, hhi, p.Batch)
		}
		have := map[int64]bool{}
		rs, err := d.conn.Query(ctx, q, args...)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", t.Name, err)
		}
		for rs.Next() {
			var v int64
			if err := rs.Scan(&v); err != nil {
				rs.Close()
				return nil, false, fmt.Errorf("%s: %w", t.Name, err)
			}
			have[v] = true
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, false, fmt.Errorf("%s: %w", t.Name, err)
		}
		if len(have) == 0 {
			out.Tables = append(out.Tables, t)
			continue
		}
		keep := make([]bool, len(keys))
		for i, v := range keys {
			keep[i] = !have[v]
		}
		nt := &tab{Name: t.Name, Cols: make([]col, len(t.Cols))}
		for i := range t.Cols {
			nt.Cols[i] = t.Cols[i].keep(keep)
		}
		d.m.replaySkipped.Add(float64(t.rows() - nt.rows()))
		out.Tables = append(out.Tables, nt)
	}
	return out, false, nil
}

// drain sends the spool's entries, oldest first, until it is empty or a
// send fails.
func (d *DB) drain(ctx context.Context) error {
	if d.sp == nil {
		return nil
	}
	d.dmu.Lock()
	defer d.dmu.Unlock()
	for range 1 << 30 { // bounded: each pass removes a part or returns
		parts, err := d.sp.Oldest()
		if err != nil || len(parts) == 0 {
			return err
		}
		for _, part := range parts {
			data, err := os.ReadFile(part)
			if err != nil {
				return err
			}
			p, err := decode(data)
			if err != nil {
				// a part this build cannot read is kept aside, not dropped
				d.m.replayErrs.Inc()
				return fmt.Errorf("%s: %w", part, err)
			}
			if err := d.send(ctx, p, true); err != nil {
				d.m.replayErrs.Inc()
				return err
			}
			if err := d.sp.Remove(part); err != nil {
				return err
			}
			d.m.replayed.Inc()
		}
	}
	return nil
}

// replayer drains the spool when a batch is spooled and then every
// backoff (1 s doubling to 30 s while the server stays away) until it is
// empty.
func (d *DB) replayer(ctx context.Context) {
	defer close(d.stopped)
	const first, most = time.Second, 30 * time.Second
	wait := first
	var tick <-chan time.Time
	if d.sp.Len() > 0 {
		tick = time.After(0)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
			if tick == nil {
				tick = time.After(wait)
			}
			continue
		case <-tick:
		}
		err := d.drain(ctx)
		switch {
		case err == nil:
			if d.warned.Swap(0) > 0 {
				d.log.Info("clickhouse: spool replayed", "server", d.cfg.String())
			}
			wait, tick = first, nil
		default:
			if ctx.Err() != nil {
				return
			}
			if d.replayWarn.Add(1)%30 == 1 { // rate-limited: counted in replay_errors_total
				d.log.Warn("clickhouse: spool replay failed; retrying", "server", d.cfg.String(), "spool", d.sp.Dir,
					"batches", d.sp.Len(), "err", err)
			}
			wait = min(2*wait, most)
			tick = time.After(wait)
		}
	}
}

// Pending is the number of batches waiting in the spool.
func (d *DB) Pending() int {
	if d.sp == nil {
		return 0
	}
	return d.sp.Len()
}

// Flush sends what the spool holds, or says why it could not.
func (d *DB) Flush(ctx context.Context) error {
	if err := d.drain(ctx); err != nil {
		return fmt.Errorf("clickhouse: %s: spool %s: %w", d.cfg, d.sp.Dir, err)
	}
	return nil
}
