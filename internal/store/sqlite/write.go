package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// ErrReadOnly is returned by Write on a store opened read-only.
var ErrReadOnly = errors.New("sqlite: store opened read-only")

const (
	msHour = int64(time.Hour / time.Millisecond)
	msDay  = 24 * msHour
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// wtx is one Write's transaction.
type wtx struct {
	d   *DB
	ctx context.Context
	tx  *sql.Tx

	a     *agg       // this batch's rollup deltas
	ndays [][3]int64 // name, day, hour bit
	ndevs [][3]int64 // name, day, device
	args  []any
	local map[string]*sql.Stmt
}

type tagg struct {
	bo, bi, po, pi, n uint64
	first, last       int64
}

func (a *tagg) add(f *flowRec) {
	a.bo += f.bo
	a.bi += f.bi
	a.po += f.po
	a.pi += f.pi
	a.n += f.n
	a.first = min(a.first, f.first)
	a.last = max(a.last, f.last)
}

type qagg struct {
	n           uint64
	first, last int64
}

type nagg struct {
	bo, bi, po, pi, n, q, qb uint64
	last                     int64
}

// Write stores a batch in one transaction; see store.Writer. It sets the
// ID of each of the batch's audits once the transaction has committed.
func (d *DB) Write(ctx context.Context, b *store.Batch) error {
	if d.ro {
		return ErrReadOnly
	}
	if b == nil || b.Len() == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.retakeLock(ctx)
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", d.path, err)
	}
	w := &wtx{d: d, ctx: ctx, tx: tx, a: newAgg()}
	flow0, query0, err := w.maxSegs()
	var ids []int64
	if err == nil {
		ids, err = w.write(b)
	}
	flush := false
	var ranges []segRange
	if err == nil {
		flush = d.delay <= 0 || d.pend.rows+w.a.rows >= rollupRows || (d.pend.rows > 0 && d.now().Sub(d.pendSince) >= d.delay)
		if flush {
			// pending sums and this batch's, as two upserts per key at
			// worst: the pending ones stay intact if the commit fails
			err = w.flushRollups(d.pend, d.pendRanges, w.a)
		} else if ranges, err = w.segsSince(flow0, query0); err == nil {
			// this batch's sums wait in memory: its segments are noted
			// for a recovery if this process dies first
			err = w.notePending(ranges)
		}
	}
	if err == nil {
		err = tx.Commit()
		if err != nil {
			err = fmt.Errorf("sqlite: %s: commit: %w", d.path, err)
		}
	} else {
		tx.Rollback()
		err = fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	d.prepareLater(ctx, w)
	if err != nil {
		d.dict = newDict()
		return err
	}
	switch {
	case flush:
		d.pend, d.pendRanges, d.lastFlush = newAgg(), nil, d.now()
	case w.a.rows > 0 || len(ranges) > 0:
		if d.pend.rows == 0 {
			d.pendSince = d.now()
		}
		d.pend = sum(d.pend, w.a)
		d.pendRanges = append(d.pendRanges, ranges...)
	}
	for i, id := range ids {
		b.Audits[i].ID = id
	}
	if d.now().Sub(d.lastPrune) > 10*time.Minute {
		if err := d.prune(ctx); err != nil {
			d.log.Warn("store: prune failed", "err", err)
		}
	}
	return nil
}

// nameDevs bounds the devices name_dev keeps per name and day: past it,
// a name is common enough that reading every device's rows of its hours
// finds it quickly.
const nameDevs = 16

// nameHour notes that a name was seen in an hour by a device, once per
// hour and device.
func (w *wtx) nameHour(name, h, dev int64) {
	if name == 0 {
		return
	}
	k := [2]int64{name, floorDiv(h, 24)}
	if kd := [3]int64{name, k[1], dev}; !w.d.dict.ndev[kd] && w.d.dict.ndn[k] < nameDevs {
		w.d.dict.ndev[kd] = true
		w.d.dict.ndn[k]++
		w.d.dict.grow()
		w.ndevs = append(w.ndevs, kd)
	}
	bit := int64(1) << (h - k[1]*24)
	old, ok := w.d.dict.nday[k]
	if old&bit != 0 {
		return
	}
	if !ok {
		w.d.dict.grow()
	}
	w.d.dict.nday[k] = old | bit
	w.ndays = append(w.ndays, [3]int64{k[0], k[1], bit})
}

func (w *wtx) write(b *store.Batch) ([]int64, error) {
	for i := range b.Entities {
		if err := w.entity(&b.Entities[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Devices {
		if err := w.device(&b.Devices[i]); err != nil {
			return nil, err
		}
	}
	for i := range b.Rules {
		if err := w.rule(&b.Rules[i]); err != nil {
			return nil, err
		}
	}
	if err := w.flows(b.FlowCount(), b.AllFlows()); err != nil {
		return nil, err
	}
	if err := w.queries(b.Queries); err != nil {
		return nil, err
	}
	// one row per name and day: OR the hours of this batch together
	slices.SortFunc(w.ndays, func(a, b [3]int64) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	nd := w.ndays[:0]
	for _, x := range w.ndays {
		if n := len(nd); n > 0 && nd[n-1][0] == x[0] && nd[n-1][1] == x[1] {
			nd[n-1][2] |= x[2]
			continue
		}
		nd = append(nd, x)
	}
	if err := w.multi("INSERT INTO name_day(name, d, hours) VALUES ", " ON CONFLICT DO UPDATE SET hours = hours | excluded.hours", 3, len(nd), func(i int, dst []any) []any {
		return append(dst, nd[i][0], nd[i][1], nd[i][2])
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(w.ndevs, func(a, b [3]int64) int { return slices.Compare(a[:], b[:]) })
	if err := w.multi("INSERT OR IGNORE INTO name_dev(name, d, dev) VALUES ", "", 3, len(w.ndevs), func(i int, dst []any) []any {
		return append(dst, w.ndevs[i][0], w.ndevs[i][1], w.ndevs[i][2])
	}); err != nil {
		return nil, err
	}
	ids := make([]int64, len(b.Audits))
	for i := range b.Audits {
		id, err := w.audit(&b.Audits[i])
		if err != nil {
			return nil, fmt.Errorf("audit %d (%s): %w", i, b.Audits[i].App, err)
		}
		ids[i] = id
	}
	for i := range b.Inventory {
		if err := w.inventory(&b.Inventory[i]); err != nil {
			return nil, fmt.Errorf("inventory %d: %w", i, err)
		}
	}
	for i := range b.Bypass {
		if err := w.bypass(&b.Bypass[i]); err != nil {
			return nil, fmt.Errorf("bypass %d (%s %s): %w", i, b.Bypass[i].Device, b.Bypass[i].Peer, err)
		}
	}
	return ids, nil
}

func keep(old string) string {
	return "CASE WHEN excluded." + old + " != '' THEN excluded." + old + " ELSE " + old + " END"
}

func (w *wtx) entity(e *store.Entity) error {
	if e.ID == "" {
		return errors.New("entity without ID")
	}
	// The unverified marks belong to the lists they came with.
	q := "INSERT INTO ent(key, name, jurisdiction, chain, lists, kind, reg, unverified) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET " +
		"name = " + keep("name") + ", jurisdiction = " + keep("jurisdiction") + ", chain = " + keep("chain") +
		", lists = " + keep("lists") + ", kind = " + keep("kind") + ", reg = " + keep("reg") +
		", unverified = CASE WHEN excluded.lists != '' THEN excluded.unverified ELSE unverified END RETURNING id"
	s, err := w.stmt(q)
	if err != nil {
		return err
	}
	var id int64
	if err := s.QueryRowContext(w.ctx, e.ID, e.Name, strings.ToUpper(e.Jurisdiction), strings.Join(e.OwnerChain, ","),
		strings.Join(e.Lists, ","), e.Kind, strings.ToUpper(e.Registered), strings.Join(e.Unverified, ",")).Scan(&id); err != nil {
		return fmt.Errorf("entity %q: %w", e.ID, err)
	}
	if _, ok := w.d.dict.ent[e.ID]; !ok {
		w.d.dict.ent[e.ID] = id
		w.d.dict.grow()
	}
	return nil
}

func (w *wtx) device(dv *store.Device) error {
	if dv.ID == "" {
		return errors.New("device without ID")
	}
	q := "INSERT INTO dev(key, mac, name, vendor, grp, owner, platform) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET " +
		"mac = " + keep("mac") + ", name = " + keep("name") + ", vendor = " + keep("vendor") + ", grp = " + keep("grp") +
		", owner = " + keep("owner") + ", platform = " + keep("platform") + " RETURNING id, grp"
	s, err := w.stmt(q)
	if err != nil {
		return err
	}
	var e devEntry
	if err := s.QueryRowContext(w.ctx, dv.ID, dv.MAC, dv.Name, dv.Vendor, dv.Group, dv.Owner, dv.Platform).Scan(&e.id, &e.grp); err != nil {
		return fmt.Errorf("device %q: %w", dv.ID, err)
	}
	w.d.dict.dev[dv.ID] = e
	w.d.dict.grow()
	return nil
}

func (w *wtx) rule(r *store.Rule) error {
	if r.ID == "" {
		return errors.New("rule without ID")
	}
	q := "INSERT INTO rule(key, action, basis, deadline, groups, entities, lists) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET " +
		"action = " + keep("action") + ", basis = " + keep("basis") + ", deadline = excluded.deadline, groups = " + keep("groups") +
		", entities = " + keep("entities") + ", lists = " + keep("lists")
	if _, err := w.exec(q, r.ID, r.Action, r.Basis, ms(r.Deadline), strings.Join(r.Groups, ","), strings.Join(r.Entities, ","),
		strings.Join(r.Lists, ",")); err != nil {
		return fmt.Errorf("rule %q: %w", r.ID, err)
	}
	w.d.dict.rule[r.ID] = ms(r.Deadline)
	if _, err := w.sym(r.ID); err != nil {
		return err
	}
	return nil
}

// ruleSeen records a rule named by a query, with its deadline, when the
// store does not know it yet or knew another deadline.
func (w *wtx) ruleSeen(key string, deadline int64, action string) error {
	if key == "" {
		return nil
	}
	if dl, ok := w.d.dict.rule[key]; ok && dl == deadline {
		return nil
	}
	if _, err := w.exec("INSERT INTO rule(key, action, deadline) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET deadline = excluded.deadline, "+
		"action = CASE WHEN action = '' THEN excluded.action ELSE action END", key, action, deadline); err != nil {
		return fmt.Errorf("rule %q: %w", key, err)
	}
	w.d.dict.rule[key] = deadline
	return nil
}

type segKey struct{ dev, h int64 }

func (w *wtx) flows(n int, fs iter.Seq[*store.Flow]) error {
	if n == 0 {
		return nil
	}
	// each row is encoded into its device-hour segment as it comes, and
	// segments are inserted as they complete (segAcc): the write holds
	// some encoded rows (about 40 bytes each), not a record per row,
	// however many rows the batch streams (store.Batch.More)
	acc := newSegAcc(w, "flow_seg")
	var total uint64
	r := new(flowRec) // one for all rows: nothing keeps it past its row
	var base int64
	enc := func(b []byte) []byte { return appendFlow(b, base, r) }
	i := -1
	for f := range fs {
		i++
		*r = flowRec{}
		dev, err := w.dev(f.Device, f.Group)
		if err != nil {
			return fmt.Errorf("flow %d: %w", i, err)
		}
		r.first, r.last = ms(f.First), ms(f.Last)
		h := int64(0)
		switch {
		case !f.Hour.IsZero():
			h = floorDiv(f.Hour.UnixMilli(), msHour)
		case r.first != 0:
			h = floorDiv(r.first, msHour)
		default:
			return fmt.Errorf("flow %d (%s): no time", i, f.Device)
		}
		if r.first == 0 {
			r.first = h * msHour
		}
		if r.last < r.first {
			r.last = r.first
		}
		err = w.ids(dev, h, []symRef{{&r.role, f.Role}, {&r.host, f.Host}, {&r.hc, strings.ToUpper(f.HostCountry)}, {&r.verdict, f.Verdict},
			{&r.rule, f.Rule}, {&r.source, f.Source}, {&r.grp, f.Group}, {&r.proto, f.Proto}}, &r.ent, f.Entity, &r.name, f.Name)
		if err != nil {
			return fmt.Errorf("flow %d: %w", i, err)
		}
		r.port = f.Port
		if a, err := netip.ParseAddr(f.Peer); err == nil {
			r.peer = a.Unmap()
		} else {
			r.peerText = f.Peer
		}
		r.bo, r.bi, r.po, r.pi, r.n = f.BytesOut, f.BytesIn, f.PacketsOut, f.PacketsIn, f.Flows
		if r.n == 0 {
			r.n = 1
		}
		total += r.n
		w.a.flow(dev, h, r)
		if r.ent != 0 {
			for _, e := range f.Evidence {
				if err := w.evidence(dev, r.ent, &e, r.first, r.last); err != nil {
					return fmt.Errorf("flow %d: %w", i, err)
				}
			}
		}
		base = h * msHour
		if err := acc.add(dev, h, enc); err != nil {
			return err
		}
	}
	if err := acc.insert(); err != nil {
		return err
	}
	_, err := w.exec("UPDATE meta SET v = v + ? WHERE k = 'flows'", int64(total))
	return err
}

// symRef is a string to intern as a symbol and where its id goes.
type symRef struct {
	dst *int64
	s   string
}

// ids interns a detail row's symbols, entity and name, and notes that dev
// saw the name in hour h.
func (w *wtx) ids(dev, h int64, syms []symRef, ent *int64, entity string, name *int64, nameS string) error {
	var err error
	for _, p := range syms {
		if *p.dst, err = w.sym(p.s); err != nil {
			return err
		}
	}
	if *ent, err = w.ent(entity); err != nil {
		return err
	}
	if *name, err = w.name(nameS); err != nil {
		return err
	}
	w.nameHour(*name, h, dev)
	return nil
}

// segAcc gathers a batch's rows ("flow_seg", "query_seg") per device and
// hour as they come, each encoded at once relative to its hour, rows in
// batch order within a segment, and inserts the segments as the batch
// goes, so that a write holds a part of the batch's encoded rows, not
// all of them:
//   - while the rows of a device and hour come one after another (a
//     scanfeed gives them so), a segment is complete when the next one
//     begins, and complete ones are inserted once they hold segEager
//     bytes;
//   - once they do not (a device-hour's rows come again after another's),
//     segments are held until the batch ends or they hold segBudget
//     bytes, when all are inserted and a device-hour whose rows come
//     again begins a segment of its own.
//
// A device and hour has a segment per batch anyway (per part, here), and
// readers read all of them, rows in id order.
type segAcc struct {
	w     *wtx
	table string
	at    map[segKey]int // index in segs of an open segment, -1 once inserted
	segs  []openSeg
	cur   int  // index in segs of the last row's segment, -1 none
	apart bool // a device-hour's rows came again after another's
	held  int  // bytes in segs
	free  [][]byte
	args  [][4]any
}

type openSeg struct {
	k segKey
	n int64
	b []byte
}

// segBudget bounds the bytes of encoded rows a write holds when a
// device-hour's rows do not come together; segEager is what it holds
// while they do. Rows that seem to come together but then do not (a
// device-hour's rows again after those of many others) cost the segments
// inserted before: segEager is large enough that only a batch of more
// than a few thousand device-hours in turn pays that, with at most one
// more segment per device-hour.
var segBudget, segEager = 4 << 20, 256 << 10

func newSegAcc(w *wtx, table string) *segAcc {
	return &segAcc{w: w, table: table, at: map[segKey]int{}, cur: -1}
}

// add appends a row to the segment of dev and hour h: enc appends the
// row's encoding to its argument and returns the result.
func (s *segAcc) add(dev, h int64, enc func([]byte) []byte) error {
	k := segKey{dev, h}
	if s.cur < 0 || s.segs[s.cur].k != k {
		if err := s.begin(k); err != nil {
			return err
		}
	}
	sg := &s.segs[s.cur]
	n := len(sg.b)
	sg.b = enc(sg.b)
	sg.n++
	s.held += len(sg.b) - n
	if s.held > segBudget {
		return s.insert()
	}
	return nil
}

// begin makes k's segment the current one, opening one if k has none.
func (s *segAcc) begin(k segKey) error {
	i, seen := s.at[k]
	if seen {
		s.apart = true
		if i >= 0 {
			s.cur = i
			return nil
		}
	} else if !s.apart && s.held >= segEager {
		// every segment held is complete
		if err := s.insert(); err != nil {
			return err
		}
	}
	var b []byte
	if n := len(s.free); n > 0 {
		b, s.free = s.free[n-1], s.free[:n-1]
	}
	s.cur = len(s.segs)
	s.at[k] = s.cur
	s.segs = append(s.segs, openSeg{k: k, b: b})
	return nil
}

// insert inserts the segments held, by hour then device, and keeps their
// buffers for the next ones.
func (s *segAcc) insert() error {
	if len(s.segs) == 0 {
		return nil
	}
	slices.SortFunc(s.segs, func(a, b openSeg) int {
		return cmp.Or(cmp.Compare(a.k.h, b.k.h), cmp.Compare(a.k.dev, b.k.dev))
	})
	s.args = s.args[:0]
	for _, sg := range s.segs {
		s.args = append(s.args, [4]any{sg.k.dev, sg.k.h, sg.n, sg.b})
	}
	if err := s.w.insertSegs(s.table, s.args); err != nil {
		return err
	}
	clear(s.args)
	for i := range s.segs {
		s.at[s.segs[i].k] = -1
		s.free = append(s.free, s.segs[i].b[:0])
		s.segs[i] = openSeg{}
	}
	s.segs, s.cur, s.held = s.segs[:0], -1, 0
	return nil
}

// maxEvidence bounds the evidence kept per device and entity: the first
// ones found are kept (and their last-seen time kept current).
const maxEvidence = 16

func (w *wtx) evidence(dev, ent int64, e *store.Evidence, first, last int64) error {
	k := evKey{dev, ent, e.Kind, e.Value}
	l, ok := w.d.dict.ev[k]
	if ok && last < l+msHour {
		return nil
	}
	if !ok {
		pair := [2]int64{dev, ent}
		n, known := w.d.dict.evN[pair]
		if !known {
			s, err := w.stmt("SELECT count(*) FROM evidence WHERE dev = ? AND ent = ?")
			if err != nil {
				return err
			}
			if err := s.QueryRowContext(w.ctx, dev, ent).Scan(&n); err != nil {
				return err
			}
			w.d.dict.grow()
		}
		if n >= maxEvidence {
			w.d.dict.evN[pair] = n
			return nil
		}
		w.d.dict.evN[pair] = n + 1
	}
	_, err := w.exec("INSERT INTO evidence(dev, ent, kind, value, rule, source, first, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT(dev, ent, kind, value) DO UPDATE SET rule = "+keep("rule")+", source = "+keep("source")+
		", first = min(first, excluded.first), last = max(last, excluded.last)",
		dev, ent, e.Kind, e.Value, e.Rule, e.Source, first, last)
	if err != nil {
		return fmt.Errorf("evidence %s %q: %w", e.Kind, e.Value, err)
	}
	if _, ok := w.d.dict.ev[k]; !ok {
		w.d.dict.grow()
	}
	w.d.dict.ev[k] = last
	return nil
}

func (w *wtx) queries(qs []store.Query) error {
	if len(qs) == 0 {
		return nil
	}
	acc := newSegAcc(w, "query_seg")
	r := new(queryRec) // one for all rows, as for flows
	var base int64
	enc := func(b []byte) []byte { return appendQuery(b, base, r) }
	blockID, err := w.sym("block")
	if err != nil {
		return err
	}
	for i := range qs {
		q := &qs[i]
		*r = queryRec{}
		dev, err := w.dev(q.Client, q.Group)
		if err != nil {
			return fmt.Errorf("query %d: %w", i, err)
		}
		if q.Time.IsZero() {
			return fmt.Errorf("query %d (%s): no time", i, q.Client)
		}
		r.t = q.Time.UnixMilli()
		h := floorDiv(r.t, msHour)
		err = w.ids(dev, h, []symRef{{&r.verdict, q.Verdict}, {&r.rule, q.Rule}, {&r.reason, q.Reason}, {&r.grp, q.Group}, {&r.proto, q.Proto}},
			&r.ent, q.Entity, &r.name, q.Name)
		if err != nil {
			return fmt.Errorf("query %d: %w", i, err)
		}
		r.typ, r.rcode = q.Type, q.RCode
		r.deadline = ms(q.Deadline)
		r.latencyUS = uint64(max(q.Latency, 0) / time.Microsecond)
		r.cached = q.Cached
		if q.Rule != "" {
			action := "monitor"
			if q.Verdict == "block" || q.Verdict == "due" {
				action = "block"
			}
			if err := w.ruleSeen(q.Rule, r.deadline, action); err != nil {
				return fmt.Errorf("query %d: %w", i, err)
			}
		}
		w.a.query(dev, h, r, blockID)
		base = h * msHour
		if err := acc.add(dev, h, enc); err != nil {
			return err
		}
	}
	if err := acc.insert(); err != nil {
		return err
	}
	_, err = w.exec("UPDATE meta SET v = v + ? WHERE k = 'queries'", int64(len(qs)))
	return err
}

// chunk is the number of rows per multi-row statement.
const chunk = 64

// multi runs a multi-row INSERT: head is "INSERT INTO t(cols) VALUES",
// tail follows the VALUES list, rows are the arguments of each row.
func (w *wtx) multi(head, tail string, ncol int, rows int, arg func(i int, dst []any) []any) error {
	for lo := 0; lo < rows; lo += chunk {
		n := min(chunk, rows-lo)
		var sb strings.Builder
		sb.WriteString(head)
		row := "(" + strings.Repeat("?, ", ncol-1) + "?)"
		for i := range n {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(row)
		}
		sb.WriteString(tail)
		w.args = w.args[:0]
		for i := lo; i < lo+n; i++ {
			w.args = arg(i, w.args)
		}
		if _, err := w.exec(sb.String(), w.args...); err != nil {
			return fmt.Errorf("%s: %w", head, err)
		}
	}
	return nil
}

func (w *wtx) insertSegs(table string, segs [][4]any) error {
	return w.multi("INSERT INTO "+table+"(dev, h, n, data) VALUES ", "", 4, len(segs), func(i int, dst []any) []any {
		return append(dst, segs[i][:]...)
	})
}

func sortedKeys[K [3]int64 | [4]int64 | [6]int64, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b K) int {
		for i := range len(a) {
			if c := cmp.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return ks
}

const sumT = " ON CONFLICT DO UPDATE SET bo = bo + excluded.bo, bi = bi + excluded.bi, po = po + excluded.po, pi = pi + excluded.pi, n = n + excluded.n"

func (w *wtx) rollups(a *agg) error {
	for _, t := range []struct {
		table, tcol string
		m           map[[4]int64]*tagg
	}{{"flow_h", "h", a.fh}} {
		ks := sortedKeys(t.m)
		err := w.multi("INSERT INTO "+t.table+"("+t.tcol+", dev, ent, role, bo, bi, po, pi, n, first, last) VALUES ",
			sumT+", first = min(first, excluded.first), last = max(last, excluded.last)", 11, len(ks),
			func(i int, dst []any) []any {
				k, a := ks[i], t.m[ks[i]]
				return append(dst, k[0], k[1], k[2], k[3], int64(a.bo), int64(a.bi), int64(a.po), int64(a.pi), int64(a.n), a.first, a.last)
			})
		if err != nil {
			return err
		}
	}
	for _, t := range []struct {
		table, tcol string
		m           map[[4]int64]*tagg
	}{{"host_h", "h", a.hh}, {"host_d", "d", dayT(a.hh)}} {
		ks := sortedKeys(t.m)
		err := w.multi("INSERT INTO "+t.table+"("+t.tcol+", ent, host, hc, bo, bi, po, pi, n) VALUES ", sumT, 9, len(ks),
			func(i int, dst []any) []any {
				k, a := ks[i], t.m[ks[i]]
				return append(dst, k[0], k[1], k[2], k[3], int64(a.bo), int64(a.bi), int64(a.po), int64(a.pi), int64(a.n))
			})
		if err != nil {
			return err
		}
	}
	for _, t := range []struct {
		table, tcol string
		m           map[[6]int64]*qagg
	}{{"query_h", "h", a.qh}} {
		ks := sortedKeys(t.m)
		err := w.multi("INSERT INTO "+t.table+"("+t.tcol+", dev, grp, rule, ent, verdict, n, first, last) VALUES ",
			" ON CONFLICT DO UPDATE SET n = n + excluded.n, first = min(first, excluded.first), last = max(last, excluded.last)", 9, len(ks),
			func(i int, dst []any) []any {
				k, a := ks[i], t.m[ks[i]]
				return append(dst, k[0], k[1], k[2], k[3], k[4], k[5], int64(a.n), a.first, a.last)
			})
		if err != nil {
			return err
		}
	}
	fd := map[[4]int64][]uint64{}
	for k, x := range a.fh {
		addDay(fd, k, x.first, []uint64{x.bo, x.bi, x.po, x.pi, x.n, 0, 0}, x.last)
	}
	if err := w.writeBlocks(flowFam, blockDeltas(fd)); err != nil {
		return err
	}
	qd := map[[6]int64][]uint64{}
	for k, x := range a.qh {
		addDay(qd, k, x.first, []uint64{x.n, 0, 0}, x.last)
	}
	if err := w.writeBlocks(queryFam, blockDeltas(qd)); err != nil {
		return err
	}
	ks := sortedKeys(a.nd)
	return w.multi("INSERT INTO name_d(d, name, ent, bo, bi, po, pi, n, q, qb, last) VALUES ",
		sumT+", q = q + excluded.q, qb = qb + excluded.qb, last = max(last, excluded.last)", 11, len(ks),
		func(i int, dst []any) []any {
			k, x := ks[i], a.nd[ks[i]]
			return append(dst, k[0], k[1], k[2], int64(x.bo), int64(x.bi), int64(x.po), int64(x.pi), int64(x.n), int64(x.q), int64(x.qb), x.last)
		})
}

// addDay adds to m the values v of an hour's key k (hour first), under
// the key of its day; v ends with two places for first and last, which
// addDay fills in ms within the day. m takes v.
func addDay[K [4]int64 | [6]int64](m map[K][]uint64, k K, first int64, v []uint64, last int64) {
	k[0] = floorDiv(k[0], 24)
	base := k[0] * msDay
	v[len(v)-2], v[len(v)-1] = uint64(max(first-base, 0)), uint64(max(last-base, 0))
	if acc := m[k]; acc != nil {
		mergeDay(acc, v)
		return
	}
	m[k] = v
}

func (w *wtx) audit(a *store.Audit) (int64, error) {
	if a.App == "" {
		return 0, errors.New("no app")
	}
	if a.Time.IsZero() {
		return 0, errors.New("no time")
	}
	var dev int64
	var err error
	if a.Device != "" {
		if dev, err = w.dev(a.Device, ""); err != nil {
			return 0, err
		}
	}
	ent, err := w.ent(a.Entity)
	if err != nil {
		return 0, err
	}
	sev := map[string]int{}
	for _, f := range a.Findings {
		sev[f.Severity]++
	}
	var parts []string
	for _, s := range []string{"high", "medium", "low", "info"} {
		if sev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", s, sev[s]))
		}
	}
	res, err := w.exec("INSERT INTO audit(t, dev, app, version, label, sha256, signer, ent, verdict, source, nfind, sev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.Time.UnixMilli(), dev, a.App, a.Version, a.Label, a.SHA256, a.Signer, ent, a.Verdict, a.Source, len(a.Findings), strings.Join(parts, ","))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for i, f := range a.Findings {
		fe, err := w.ent(f.Entity)
		if err != nil {
			return 0, err
		}
		if _, err := w.exec("INSERT INTO finding(audit, seq, rule, severity, category, title, ent, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			id, i, f.Rule, f.Severity, f.Category, f.Title, fe, strings.Join(f.Evidence, "\n")); err != nil {
			return 0, fmt.Errorf("finding %d: %w", i, err)
		}
	}
	return id, nil
}

func (w *wtx) inventory(it *store.InventoryItem) error {
	if it.App == "" {
		return errors.New("no app")
	}
	if it.Seen.IsZero() {
		return errors.New("no time seen")
	}
	dev, err := w.dev(it.Device, it.Group)
	if err != nil {
		return err
	}
	ids := make([]int64, 5)
	for i, s := range []string{it.App, it.Group, it.Verdict, it.Rule, it.Source} {
		if ids[i], err = w.sym(s); err != nil {
			return err
		}
	}
	ent, err := w.ent(it.Entity)
	if err != nil {
		return err
	}
	seen := it.Seen.UnixMilli()
	_, err = w.exec("INSERT INTO inventory(dev, app, grp, version, ent, verdict, rule, first, seen, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT(dev, app) DO UPDATE SET first = min(first, excluded.first), "+
		"grp = CASE WHEN excluded.seen >= seen THEN excluded.grp ELSE grp END, "+
		"version = CASE WHEN excluded.seen >= seen THEN excluded.version ELSE version END, "+
		"ent = CASE WHEN excluded.seen >= seen THEN excluded.ent ELSE ent END, "+
		"verdict = CASE WHEN excluded.seen >= seen THEN excluded.verdict ELSE verdict END, "+
		"rule = CASE WHEN excluded.seen >= seen THEN excluded.rule ELSE rule END, "+
		"source = CASE WHEN excluded.seen >= seen THEN excluded.source ELSE source END, "+
		"seen = max(seen, excluded.seen)",
		dev, ids[0], ids[1], it.Version, ent, ids[2], ids[3], seen, seen, ids[4])
	return err
}
