package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/spool"
)

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

// maxEvidence bounds the evidence kept per device and entity, as the
// SQLite store does: the first ones found are kept.
const maxEvidence = 16

// cache is what this process has written, so that dimension rows are
// written once and evidence is kept as the SQLite store keeps it. It is
// dropped after a failed write.
type cache struct {
	sym, name, ent map[string]bool
	dev            map[string]string // device -> group
	rule           map[string]int64  // rule -> deadline
	ev             map[[4]string]int64
	evN            map[[2]string]int
}

func newCache() *cache {
	return &cache{sym: map[string]bool{}, name: map[string]bool{}, ent: map[string]bool{}, dev: map[string]string{},
		rule: map[string]int64{}, ev: map[[4]string]int64{}, evN: map[[2]string]int{}}
}

// rows is one Write's rows, table by table in the order they were first
// met (dimensions before the facts naming them), as columns.
type rows struct {
	d     *DB
	ctx   context.Context
	batch string
	p     *payload
	t     map[string]*tab
}

func (d *DB) newRows(ctx context.Context) *rows {
	id := fmt.Sprintf("%x-%x", d.now().UnixNano(), d.seq)
	return &rows{d: d, ctx: ctx, batch: id, p: &payload{Batch: id, At: d.now().UnixMilli()}, t: map[string]*tab{}}
}

// tab is the table's rows in this batch, in columns reused from the
// previous batch (allocating and growing them cost more than the
// driver's work).
func (r *rows) tab(name string) *tab {
	t := r.t[name]
	if t == nil {
		if t = r.d.spare[name]; t != nil {
			delete(r.d.spare, name)
			t.reset()
		} else {
			t = &tab{Name: name, Cols: make([]col, strings.Count(columns[name], ",")+1)}
		}
		r.t[name] = t
		r.p.Tables = append(r.p.Tables, t)
	}
	return t
}

// recycle keeps r's columns for the next batch. Callers hold wmu.
func (r *rows) recycle() {
	for name, t := range r.t {
		r.d.spare[name] = t
	}
}

func (r *rows) add(table string, row ...any) {
	t := r.tab(table)
	for i, v := range row {
		t.Cols[i].add(v)
	}
}

func (r *rows) seq() int64 { r.d.seq++; return r.d.seq }

func (r *rows) sym(s string) string {
	if s != "" && !r.d.cache.sym[s] {
		r.d.cache.sym[s] = true
		r.add("sym", s, r.seq())
	}
	return s
}

func reverse(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[len(s)-1-i] = s[i]
	}
	return string(b)
}

func normName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

func (r *rows) name(s string) string {
	if s == "" {
		return ""
	}
	s = normName(s)
	if !r.d.cache.name[s] {
		r.d.cache.name[s] = true
		r.add("names", s, reverse(s))
	}
	return s
}

func (r *rows) ent(key string) string {
	if key != "" && !r.d.cache.ent[key] {
		r.d.cache.ent[key] = true
		r.add("ent_v", r.seq(), key, "", "", "", "", "", "", "")
	}
	return key
}

// dev notes a device and the latest group it was seen in.
func (r *rows) dev(key, grp string) (string, error) {
	if key == "" {
		return "", errors.New("no device")
	}
	old, ok := r.d.cache.dev[key]
	if !ok || (grp != "" && grp != old) {
		r.add("dev_v", r.seq(), key, "", "", "", grp, "", "")
		if grp != "" || !ok {
			r.d.cache.dev[key] = grp
		}
	}
	return key, nil
}

// Write stores a batch: sent to the server (one insert per table, or a
// few at once for a large one, then its id in batches), or, while the
// server cannot be reached or older batches wait in the spool, appended
// to the spool. It returns nil once the batch is on the server or synced
// to the spool; the rollups follow by the engine's views.
func (d *DB) Write(ctx context.Context, b *store.Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.write(ctx, b, nil)
}

// write builds b and delivers it, to st when an ingest stages it.
// Callers hold wmu.
func (d *DB) write(ctx context.Context, b *store.Batch, st *spool.Stage) error {
	auditN := d.auditN
	r := d.newRows(ctx)
	err := r.build(b)
	built := err == nil
	if built {
		err = d.deliver(ctx, r.p, st)
	}
	r.recycle()
	if err != nil {
		d.m.errs.Inc()
		d.cache = newCache()
		if !built {
			// nothing was sent: its audit IDs are free again. Those of a
			// batch the server refused may be partly stored, and are not
			// handed out a second time.
			d.auditN = auditN
		}
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	d.m.batches.Inc()
	for i := range b.Audits {
		b.Audits[i].ID = auditN + int64(i) + 1
	}
	return nil
}

var columns = map[string]string{
	"sym":         "s, seq",
	"names":       "name, rname",
	"ent_v":       "seq, key, name, jur, reg, chain, lists, kind, unverified",
	"dev_v":       "seq, key, mac, name, vendor, grp, owner, platform",
	"rule_v":      "seq, key, seen, action, basis, deadline, groups, entities, lists",
	"flow":        "h, first, last, dev, grp, proto, peer, port, name, ent, role, host, hc, verdict, rule, source, bo, bi, po, pi, n, ord, batch",
	"query":       "t, h, dev, grp, proto, name, typ, rcode, verdict, rule, ent, reason, deadline, latency_us, cached, ord, batch",
	"evidence":    "dev, ent, kind, value, rule, source, first, last, seq",
	"audit":       "id, t, dev, app, version, label, sha256, signer, ent, verdict, source, nfind, sev, fent",
	"finding":     "audit, seq, rule, severity, category, title, ent, evidence",
	"inventory_v": "dev, app, grp, version, ent, verdict, rule, seen, source, seq",
	"ingest":      "seq, path, size, head, tail, first, last, at",
	"alert":       "id, t, kind, site, dev, ent, ent_name, jur, rule, deadline, evidence, bytes, summary",
	"bypass":      "dev, kind, peer, port, proto, name, service, owner, owner_name, evidence, n, bo, bi, first, last, source, seq",
}

func join(s []string) string { return strings.Join(s, ",") }

func (r *rows) build(b *store.Batch) error {
	for _, e := range b.Entities {
		if e.ID == "" {
			return errors.New("entity without ID")
		}
		r.d.cache.ent[e.ID] = true
		r.add("ent_v", r.seq(), e.ID, e.Name, strings.ToUpper(e.Jurisdiction), strings.ToUpper(e.Registered), join(e.OwnerChain), join(e.Lists), e.Kind, join(e.Unverified))
	}
	for _, dv := range b.Devices {
		if dv.ID == "" {
			return errors.New("device without ID")
		}
		if _, ok := r.d.cache.dev[dv.ID]; !ok || dv.Group != "" {
			r.d.cache.dev[dv.ID] = dv.Group
		}
		r.add("dev_v", r.seq(), dv.ID, dv.MAC, dv.Name, dv.Vendor, dv.Group, dv.Owner, dv.Platform)
	}
	for _, rl := range b.Rules {
		if rl.ID == "" {
			return errors.New("rule without ID")
		}
		r.d.cache.rule[rl.ID] = ms(rl.Deadline)
		r.sym(rl.ID)
		r.add("rule_v", r.seq(), rl.ID, uint8(0), rl.Action, rl.Basis, ms(rl.Deadline), join(rl.Groups), join(rl.Entities), join(rl.Lists))
	}
	for i := range b.Bypass {
		if err := r.bypass(&b.Bypass[i]); err != nil {
			return fmt.Errorf("bypass %d: %w", i, err)
		}
	}
	if err := r.flows(b.FlowCount(), b.AllFlows()); err != nil {
		return err
	}
	if err := r.queries(b.Queries); err != nil {
		return err
	}
	for i := range b.Audits {
		if err := r.audit(&b.Audits[i]); err != nil {
			return fmt.Errorf("audit %d (%s): %w", i, b.Audits[i].App, err)
		}
	}
	for i := range b.Inventory {
		if err := r.inventory(&b.Inventory[i]); err != nil {
			return fmt.Errorf("inventory %d: %w", i, err)
		}
	}
	return nil
}

func (r *rows) flows(n int, fs iter.Seq[*store.Flow]) error {
	if n > 0 {
		r.tab("flow").grow(n)
	}
	i := -1
	for f := range fs {
		i++
		dev, err := r.dev(f.Device, f.Group)
		if err != nil {
			return fmt.Errorf("flow %d: %w", i, err)
		}
		first, last := ms(f.First), ms(f.Last)
		var h int64
		switch {
		case !f.Hour.IsZero():
			h = floorDiv(f.Hour.UnixMilli(), msHour)
		case first != 0:
			h = floorDiv(first, msHour)
		default:
			return fmt.Errorf("flow %d (%s): no time", i, f.Device)
		}
		if first == 0 {
			first = h * msHour
		}
		last = max(last, first)
		peer := f.Peer
		if a, err := netip.ParseAddr(f.Peer); err == nil && !a.Is4() {
			// an IPv4 address parses only in its one dotted form, which
			// is kept as it came (a new string for every row was a
			// tenth of the writer's allocations); others are written
			// the one way
			peer = a.Unmap().String()
		}
		n := f.Flows
		if n == 0 {
			n = 1
		}
		ent := r.ent(f.Entity)
		grp, proto, name, role, host := r.sym(f.Group), r.sym(f.Proto), r.name(f.Name), r.sym(f.Role), r.sym(f.Host)
		hc, verdict, rule, source := r.sym(strings.ToUpper(f.HostCountry)), r.sym(f.Verdict), r.sym(f.Rule), r.sym(f.Source)
		c := r.tab("flow").Cols
		c[0].i(h)
		c[1].i(first)
		c[2].i(last)
		c[3].s(dev)
		c[4].s(grp)
		c[5].s(proto)
		c[6].s(peer)
		c[7].u16(f.Port)
		c[8].s(name)
		c[9].s(ent)
		c[10].s(role)
		c[11].s(host)
		c[12].s(hc)
		c[13].s(verdict)
		c[14].s(rule)
		c[15].s(source)
		c[16].u(f.BytesOut)
		c[17].u(f.BytesIn)
		c[18].u(f.PacketsOut)
		c[19].u(f.PacketsIn)
		c[20].u(n)
		c[21].i(r.seq())
		c[22].s(r.batch)
		if ent != "" {
			for _, e := range f.Evidence {
				if err := r.evidence(dev, ent, &e, first, last); err != nil {
					return fmt.Errorf("flow %d: %w", i, err)
				}
			}
		}
	}
	return nil
}

// evidence keeps the first maxEvidence indicators of a device and
// entity, and their last-seen time to the hour, as the SQLite store.
func (r *rows) evidence(dev, ent string, e *store.Evidence, first, last int64) error {
	k := [4]string{dev, ent, e.Kind, e.Value}
	l, ok := r.d.cache.ev[k]
	if ok && last < l+msHour {
		return nil
	}
	if !ok {
		pair := [2]string{dev, ent}
		n, known := r.d.cache.evN[pair]
		if !known {
			var c uint64
			if err := r.d.conn.QueryRow(r.ctx, "SELECT uniqExact(kind, value) FROM "+r.d.t("evidence")+" WHERE dev = ? AND ent = ?", dev, ent).Scan(&c); err != nil {
				return fmt.Errorf("evidence: %w", err)
			}
			n = int(c)
		}
		if n >= maxEvidence {
			r.d.cache.evN[pair] = n
			return nil
		}
		r.d.cache.evN[pair] = n + 1
	}
	r.add("evidence", dev, ent, e.Kind, e.Value, e.Rule, e.Source, first, last, r.seq())
	r.d.cache.ev[k] = last
	return nil
}

func (r *rows) queries(qs []store.Query) error {
	if len(qs) > 0 {
		r.sym("block")
		r.tab("query").grow(len(qs))
	}
	for i := range qs {
		q := &qs[i]
		dev, err := r.dev(q.Client, q.Group)
		if err != nil {
			return fmt.Errorf("query %d: %w", i, err)
		}
		if q.Time.IsZero() {
			return fmt.Errorf("query %d (%s): no time", i, q.Client)
		}
		t := q.Time.UnixMilli()
		deadline := ms(q.Deadline)
		var cached uint8
		if q.Cached {
			cached = 1
		}
		r.add("query", t, floorDiv(t, msHour), dev, r.sym(q.Group), r.sym(q.Proto), r.name(q.Name), q.Type, q.RCode, r.sym(q.Verdict),
			r.sym(q.Rule), r.ent(q.Entity), r.sym(q.Reason), deadline, uint64(max(q.Latency, 0)/time.Microsecond), cached, r.seq(), r.batch)
		if q.Rule != "" {
			if dl, ok := r.d.cache.rule[q.Rule]; !ok || dl != deadline {
				action := "monitor"
				if q.Verdict == "block" || q.Verdict == "due" {
					action = "block"
				}
				r.add("rule_v", r.seq(), q.Rule, uint8(1), action, "", deadline, "", "", "")
				r.d.cache.rule[q.Rule] = deadline
			}
		}
	}
	return nil
}

func (r *rows) audit(a *store.Audit) error {
	if a.App == "" {
		return errors.New("no app")
	}
	if a.Time.IsZero() {
		return errors.New("no time")
	}
	if a.Device != "" {
		if _, err := r.dev(a.Device, ""); err != nil {
			return err
		}
	}
	sev := map[string]int{}
	var fents []string
	for _, f := range a.Findings {
		sev[f.Severity]++
		if f.Entity != "" {
			fents = append(fents, r.ent(f.Entity))
		}
	}
	var parts []string
	for _, s := range []string{"high", "medium", "low", "info"} {
		if sev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", s, sev[s]))
		}
	}
	r.d.auditN++
	id := r.d.auditN
	r.add("audit", id, a.Time.UnixMilli(), a.Device, a.App, a.Version, a.Label, a.SHA256, a.Signer, r.ent(a.Entity), a.Verdict, a.Source,
		uint32(len(a.Findings)), strings.Join(parts, ","), join(fents))
	for i, f := range a.Findings {
		r.add("finding", id, uint32(i), f.Rule, f.Severity, f.Category, f.Title, f.Entity, strings.Join(f.Evidence, "\n"))
	}
	return nil
}

func (r *rows) inventory(it *store.InventoryItem) error {
	if it.App == "" {
		return errors.New("no app")
	}
	if it.Seen.IsZero() {
		return errors.New("no time seen")
	}
	dev, err := r.dev(it.Device, it.Group)
	if err != nil {
		return err
	}
	r.add("inventory_v", dev, r.sym(it.App), r.sym(it.Group), it.Version, r.ent(it.Entity), r.sym(it.Verdict), r.sym(it.Rule),
		it.Seen.UnixMilli(), r.sym(it.Source), r.seq())
	return nil
}
