package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/spool"
)

// An ingest is staged in the spool from BeginIngest to Commit, holding
// the writer (wmu) throughout. Commit adds the inputs' fingerprints as
// the last batch and queues the stage by one rename, then sends it: the
// rows of a whole input reach the server with its fingerprint, or, if
// the process dies before Commit, nothing does (the next start drops the
// stage). ClickHouse has no transaction over many inserts; the spool
// stands in for one. Without a spool the rows go straight to the server
// and an interrupted ingest leaves what it sent.

var _ store.Ingester = (*DB)(nil)

type ingest struct {
	d           *DB
	st          *spool.Stage // nil: no spool
	inputs      []store.Input
	auditN      int64
	first, last int64
	done        bool
}

// BeginIngest starts an ingest of inputs; see store.Ingester.
func (d *DB) BeginIngest(ctx context.Context, inputs []store.Input, again bool) (store.Ingest, error) {
	d.wmu.Lock()
	if !again {
		known, err := d.Ingested(ctx)
		if err != nil {
			d.wmu.Unlock()
			return nil, err
		}
		for _, in := range inputs {
			for _, k := range known {
				if in.Same(k) {
					d.wmu.Unlock()
					return nil, &store.IngestedError{Input: in, Prev: k}
				}
			}
		}
	}
	g := &ingest{d: d, inputs: inputs, auditN: d.auditN}
	if d.sp != nil {
		st, err := d.sp.Stage()
		if err != nil {
			d.wmu.Unlock()
			return nil, fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
		}
		g.st = st
	}
	return g, nil
}

// Write adds a batch to the ingest. On error the whole ingest is
// abandoned and every later call fails.
func (g *ingest) Write(ctx context.Context, b *store.Batch) error {
	if g.done {
		return fmt.Errorf("clickhouse: %s: ingest already ended", g.d.cfg)
	}
	if b == nil || b.Len() == 0 {
		return nil
	}
	if err := g.d.write(ctx, b, g.st); err != nil {
		g.Close()
		return err
	}
	for f := range b.AllFlows() {
		g.span(ms(f.First), max(ms(f.Last), ms(f.First)))
		if f.First.IsZero() {
			g.span(ms(f.Hour), ms(f.Hour))
		}
	}
	for _, q := range b.Queries {
		g.span(ms(q.Time), ms(q.Time))
	}
	return nil
}

func (g *ingest) span(first, last int64) {
	if first != 0 && (g.first == 0 || first < g.first) {
		g.first = first
	}
	g.last = max(g.last, last)
}

// Commit stores the inputs' fingerprints after their rows and sends
// what the stage holds. When the server cannot take it now, the ingest
// stays queued in the spool (it is acknowledged: on local disk) and is
// sent by the replayer, or by the next process using the store.
func (g *ingest) Commit(ctx context.Context) error {
	if g.done {
		return fmt.Errorf("clickhouse: %s: ingest already ended", g.d.cfg)
	}
	d := g.d
	r := d.newRows(ctx)
	at := d.now().UnixMilli()
	for _, in := range g.inputs {
		r.add("ingest", r.seq(), in.Path, in.Size, in.Head, in.Tail, g.first, g.last, at)
	}
	err := d.deliver(ctx, r.p, g.st)
	if err == nil && g.st != nil {
		var meta []byte
		fp := make([]store.Input, len(g.inputs))
		for i, in := range g.inputs {
			in.First, in.Last, in.At = tm(g.first), tm(g.last), tm(at)
			fp[i] = in
		}
		if meta, err = json.Marshal(fp); err == nil {
			g.st.Meta(meta)
			err = g.st.Commit()
		}
	}
	if err != nil {
		g.Close()
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	g.done = true
	d.wmu.Unlock()
	if g.st != nil {
		if err := d.drain(ctx); err != nil {
			d.log.Warn("clickhouse: ingest committed to the spool; it is sent when the server answers", "server", d.cfg.String(),
				"spool", d.sp.Dir, "batches", d.sp.Len(), "err", err)
			select {
			case d.kick <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// Close abandons the ingest unless it was committed: with a spool,
// nothing it wrote is kept.
func (g *ingest) Close() error {
	if g.done {
		return nil
	}
	g.done = true
	// what the cache learnt from the ingest's rows may not be stored
	g.d.cache = newCache()
	if g.st != nil {
		g.st.Abort()
		// staged, nothing reached the server: its audit IDs are free
		// again; without a spool its batches went to the server as
		// written, and the IDs of those stored are not handed out again
		g.d.auditN = g.auditN
	}
	g.d.wmu.Unlock()
	return nil
}

// Ingested lists the inputs the store took, newest first: those on the
// server, and those committed to the spool and not yet sent.
func (d *DB) Ingested(ctx context.Context) ([]store.Input, error) {
	var out []store.Input
	if d.sp != nil {
		metas, err := d.sp.Metas()
		if err != nil {
			return nil, fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
		}
		for i := len(metas) - 1; i >= 0; i-- {
			var fp []store.Input
			if json.Unmarshal(metas[i], &fp) == nil {
				out = append(out, fp...)
			}
		}
	}
	err := d.query(ctx, "SELECT path, size, head, tail, first, last, at FROM "+d.t("ingest")+" ORDER BY at DESC, seq DESC", func(rw driver.Rows) error {
		var in store.Input
		var first, last, at int64
		if err := rw.Scan(&in.Path, &in.Size, &in.Head, &in.Tail, &first, &last, &at); err != nil {
			return err
		}
		in.First, in.Last, in.At = tm(first), tm(last), tm(at)
		out = append(out, in)
		return nil
	})
	return out, err
}
