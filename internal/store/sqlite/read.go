package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// period is a filter's time range resolved to whole hours: since is
// rounded down, until up. Rollups cannot tell parts of an hour apart.
type period struct {
	lo, hi int64 // ms, [lo, hi)
	hlo    int64 // hours, [hlo, hhi)
	hhi    int64
}

func (d *DB) period(f *store.Filter) period {
	hi := d.now().UnixMilli()
	if !f.Until.IsZero() {
		hi = f.Until.UnixMilli()
	}
	lo := int64(math.MinInt64 / 4)
	if !f.Since.IsZero() {
		lo = f.Since.UnixMilli()
	}
	p := period{lo: lo, hi: hi, hlo: floorDiv(lo, msHour), hhi: floorDiv(hi+msHour-1, msHour)}
	if p.hhi < p.hlo {
		p.hhi = p.hlo
	}
	return p
}

// window is the period of the same end and the given length; it is not
// clipped by Since: "last week" is last week.
func (p period) window(d time.Duration) period {
	q := p
	q.lo = p.hi - d.Milliseconds()
	q.hlo = floorDiv(q.lo, msHour)
	return q
}

// union returns a query over a pair of rollups (base_h, base_d) for the
// period: whole days from the daily table, the hours at either end from
// the hourly one. cols may use $day for the row's day number; cond is
// ANDed to both.
func union(base, cols, cond string, p period) string {
	dlo := floorDiv(p.hlo+23, 24) // first whole day
	dhi := floorDiv(p.hhi, 24)    // end of whole days
	if p.hhi-p.hlo >= shortPeriod {
		// long periods count whole days, as the packed rollups do
		dlo, dhi = p.days()
		p.hlo, p.hhi = dlo*24, dhi*24
	}
	var sb strings.Builder
	and := ""
	if cond != "" {
		and = " AND (" + cond + ")"
	}
	if dlo < dhi {
		fmt.Fprintf(&sb, "SELECT %s FROM %s_d WHERE d >= %d AND d < %d%s", strings.ReplaceAll(cols, "$day", "d"), base, dlo, dhi, and)
		fmt.Fprintf(&sb, " UNION ALL SELECT %s FROM %s_h WHERE ((h >= %d AND h < %d) OR (h >= %d AND h < %d))%s",
			strings.ReplaceAll(cols, "$day", "(h / 24)"), base, p.hlo, dlo*24, dhi*24, p.hhi, and)
	} else {
		fmt.Fprintf(&sb, "SELECT %s FROM %s_h WHERE h >= %d AND h < %d%s", strings.ReplaceAll(cols, "$day", "(h / 24)"), base, p.hlo, p.hhi, and)
	}
	return sb.String()
}

// sel is a filter's selections resolved to dictionary ids. A nil set
// selects everything; an empty non-nil set selects nothing.
type sel struct {
	dev, ent, name, grp, rule, verdict []int64
	grpDev                             []int64 // devices of the selected groups
	concern                            bool
	none                               bool // some selection matched nothing
}

func inList(col string, ids []int64) string {
	var sb strings.Builder
	sb.WriteString(col)
	sb.WriteString(" IN (")
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	sb.WriteByte(')')
	return sb.String()
}

func has(set []int64, id int64) bool {
	return set == nil || slices.Contains(set, id)
}

// Flush writes the rollups summed in memory now, so that other
// processes reading the file see every batch written so far. Reads
// through this DB and Close do it themselves.
func (d *DB) Flush(ctx context.Context) error { return d.syncRollups(ctx) }

// syncRollups writes the rollups summed in memory, so that reads through
// this DB see every batch written through it.
func (d *DB) syncRollups(ctx context.Context) error {
	if d.ro {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.flushPending(ctx)
}

func (d *DB) resolve(ctx context.Context, f *store.Filter) (*sel, error) {
	if err := d.syncRollups(ctx); err != nil {
		return nil, err
	}
	s := &sel{concern: f.Concern}
	var err error
	ids := func(q string, keys []string) ([]int64, error) {
		if len(keys) == 0 {
			return nil, nil
		}
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		rows, err := d.r.QueryContext(ctx, q+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",")+")", args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", d.path, err)
		}
		defer rows.Close()
		out := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		if len(out) == 0 {
			s.none = true
		}
		return out, rows.Err()
	}
	if s.dev, err = ids("SELECT id FROM dev WHERE key", f.Devices); err != nil {
		return nil, err
	}
	noneBefore := s.none
	if s.grp, err = ids("SELECT id FROM sym WHERE s", f.Groups); err != nil {
		return nil, err
	}
	if len(f.Groups) > 0 {
		s.none = noneBefore
		if s.grpDev, err = ids("SELECT id FROM dev WHERE grp", f.Groups); err != nil {
			return nil, err
		}
		if s.grp == nil {
			s.grp = []int64{}
		}
		s.none = noneBefore || len(s.grp) == 0 && len(s.grpDev) == 0
	}
	if s.rule, err = ids("SELECT id FROM sym WHERE s", f.Rules); err != nil {
		return nil, err
	}
	if s.verdict, err = ids("SELECT id FROM sym WHERE s", f.Verdicts); err != nil {
		return nil, err
	}
	if len(f.Entities) > 0 || len(f.Lists) > 0 {
		es, err := d.entities(ctx)
		if err != nil {
			return nil, err
		}
		s.ent = []int64{}
		for _, e := range es {
			if slices.Contains(f.Entities, e.key) || anyIn(e.lists, f.Lists) || anyIn(e.chain, f.Entities) {
				s.ent = append(s.ent, e.id)
			}
		}
		if len(s.ent) == 0 {
			s.none = true
		}
	}
	if len(f.Names) > 0 {
		s.name = []int64{}
		for _, n := range f.Names {
			n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
			if n == "" {
				continue
			}
			r := reverse(n)
			rows, err := d.r.QueryContext(ctx, "SELECT id FROM name WHERE name = ? OR (rname >= ? AND rname < ?) LIMIT 10000", n, r+".", r+"/")
			if err != nil {
				return nil, fmt.Errorf("sqlite: %s: %w", d.path, err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, err
				}
				s.name = append(s.name, id)
			}
			rows.Close()
		}
		if len(s.name) == 0 {
			s.none = true
		}
	}
	return s, nil
}

func anyIn(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// flowCond is the rollup condition for flow tables (dev, ent columns).
func (s *sel) flowCond() string {
	var c []string
	if s.dev != nil {
		c = append(c, inList("dev", s.dev))
	}
	if s.grpDev != nil {
		c = append(c, inList("dev", s.grpDev))
	}
	if s.ent != nil {
		c = append(c, inList("ent", s.ent))
	}
	if s.concern {
		c = append(c, "ent != 0")
	}
	return strings.Join(c, " AND ")
}

// queryCond is the rollup condition for query tables.
func (s *sel) queryCond() string {
	var c []string
	if s.dev != nil {
		c = append(c, inList("dev", s.dev))
	}
	if s.grp != nil {
		c = append(c, "("+inList("grp", s.grp)+" OR "+inList("dev", s.grpDev)+")")
	}
	if s.ent != nil {
		c = append(c, inList("ent", s.ent))
	}
	if s.rule != nil {
		c = append(c, inList("rule", s.rule))
	}
	if s.verdict != nil {
		c = append(c, inList("verdict", s.verdict))
	}
	if s.concern {
		c = append(c, "ent != 0")
	}
	return strings.Join(c, " AND ")
}

// hostOK says whether host tables (no device column) can answer.
func (s *sel) hostOK() bool { return s.dev == nil && s.grpDev == nil }

func limit(f *store.Filter) (lim, off int) {
	lim = f.Limit
	if lim <= 0 {
		lim = store.DefaultLimit
	}
	lim = min(lim, store.MaxLimit)
	off = max(f.Offset, 0)
	return lim, off
}

func tm(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// entRow is an entity as the reader caches it.
type entRow struct {
	id    int64
	key   string
	e     store.Entity
	lists []string
	chain []string
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (d *DB) entities(ctx context.Context) ([]entRow, error) {
	rows, err := d.r.QueryContext(ctx, "SELECT id, key, name, jurisdiction, chain, lists, kind, reg, unverified FROM ent ORDER BY key")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: entities: %w", d.path, err)
	}
	defer rows.Close()
	var out []entRow
	for rows.Next() {
		var r entRow
		var chain, lists, unverified string
		if err := rows.Scan(&r.id, &r.key, &r.e.Name, &r.e.Jurisdiction, &chain, &lists, &r.e.Kind, &r.e.Registered, &unverified); err != nil {
			return nil, err
		}
		r.e.ID = r.key
		// A store written before entities were named from the catalog
		// everywhere may hold an ID alone: show the ID, never nothing.
		if r.e.Name == "" {
			r.e.Name = r.key
		}
		r.e.Unverified = splitList(unverified)
		r.chain, r.lists = splitList(chain), splitList(lists)
		r.e.OwnerChain, r.e.Lists = r.chain, r.lists
		out = append(out, r)
	}
	return out, rows.Err()
}

// Entities returns the entity facts held.
func (d *DB) Entities(ctx context.Context) ([]store.Entity, error) {
	es, err := d.entities(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]store.Entity, len(es))
	for i, e := range es {
		out[i] = e.e
	}
	return out, nil
}

// names resolves dictionary ids to strings for one read.
type names struct {
	d   *DB
	ctx context.Context
	m   map[string]map[int64]string // table -> id -> string
}

func (d *DB) newNames(ctx context.Context) *names {
	return &names{d: d, ctx: ctx, m: map[string]map[int64]string{}}
}

// loadAll loads the ids of a list of detail rows, by table.
func (n *names) loadAll(dev, ent, name, sym []int64) error {
	for _, l := range []struct {
		t   string
		ids []int64
	}{{"dev", dev}, {"ent", ent}, {"name", name}, {"sym", sym}} {
		if err := n.load(l.t, l.ids); err != nil {
			return err
		}
	}
	return nil
}

// load fetches the strings of ids from table ("sym", "name", "dev", "ent").
func (n *names) load(table string, ids []int64) error {
	m := n.m[table]
	if m == nil {
		m = map[int64]string{0: ""}
		n.m[table] = m
	}
	var need []int64
	for _, id := range ids {
		if _, ok := m[id]; !ok {
			need = append(need, id)
			m[id] = ""
		}
	}
	col := map[string]string{"sym": "s", "name": "name", "dev": "key", "ent": "key"}[table]
	for len(need) > 0 {
		part := need[:min(len(need), 500)]
		need = need[len(part):]
		rows, err := n.d.r.QueryContext(n.ctx, "SELECT id, "+col+" FROM "+table+" WHERE "+inList("id", part))
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", n.d.path, err)
		}
		for rows.Next() {
			var id int64
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return err
			}
			m[id] = s
		}
		rows.Close()
	}
	return nil
}

func (n *names) get(table string, id int64) string { return n.m[table][id] }

// query runs a read and scans each row with fn.
func (d *DB) query(ctx context.Context, q string, fn func(*sql.Rows) error, args ...any) error {
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("sqlite: %s: %w", d.path, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	return nil
}
