package clickhouse

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

// period is a filter's time range resolved to whole hours, as the SQLite
// store resolves it: since rounded down, until up.
type period struct {
	lo, hi   int64 // ms, [lo, hi)
	hlo, hhi int64 // hours
}

// shortPeriod is the longest period answered hour by hour; longer ones
// are answered in whole UTC days.
const shortPeriod = 48

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
	p.hhi = max(p.hhi, p.hlo)
	return p
}

// window is the period of the same end and the given length.
func (p period) window(d time.Duration) period {
	q := p
	q.lo = p.hi - d.Milliseconds()
	q.hlo = floorDiv(q.lo, msHour)
	return q
}

func (p period) days() (lo, hi int64) { return floorDiv(p.hlo, 24), floorDiv(p.hhi+23, 24) }

// hours is the range of hours the rollups count: the period's, or its
// whole days when it is long.
func (p period) hours() (lo, hi int64) {
	if p.long() {
		dlo, dhi := p.days()
		return dlo * 24, dhi * 24
	}
	return max(p.hlo, 0), p.hhi
}

// quote is a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// inList is "col IN (...)"; an empty set is false.
func inList(col string, keys []string) string {
	if len(keys) == 0 {
		return "0"
	}
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = quote(k)
	}
	return col + " IN (" + strings.Join(q, ",") + ")"
}

func has(set []string, k string) bool { return set == nil || slices.Contains(set, k) }

// sel is a filter's selections, checked against what the store holds
// as the SQLite store checks them against its dictionaries. A nil set
// selects everything; an empty non-nil set nothing.
type sel struct {
	dev, ent, name, grp, rule, verdict []string
	grpDev                             []string
	concern                            bool
	none                               bool
}

// existing returns those of keys found by q (a query with one ? for the
// set), or nil without keys.
func (d *DB) existing(ctx context.Context, q string, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	out := []string{}
	set := make([]string, len(keys))
	for i, k := range keys {
		set[i] = quote(k)
	}
	err := d.query(ctx, strings.Replace(q, "?", "("+strings.Join(set, ",")+")", 1), func(r driver.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func (d *DB) resolve(ctx context.Context, f *store.Filter) (*sel, error) {
	s := &sel{concern: f.Concern}
	var err error
	check := func(dst *[]string, q string, keys []string) error {
		if *dst, err = d.existing(ctx, q, keys); err != nil {
			return err
		}
		if *dst != nil && len(*dst) == 0 {
			s.none = true
		}
		return nil
	}
	symQ := "SELECT DISTINCT s FROM " + d.t("sym") + " WHERE s IN ?"
	if err := check(&s.dev, "SELECT DISTINCT key FROM "+d.t("dev_v")+" WHERE key IN ?", f.Devices); err != nil {
		return nil, err
	}
	if len(f.Groups) > 0 {
		noneBefore := s.none
		if s.grp, err = d.existing(ctx, symQ, f.Groups); err != nil {
			return nil, err
		}
		devs, err := d.devices(ctx, nil)
		if err != nil {
			return nil, err
		}
		s.grpDev = []string{}
		for _, dv := range devs {
			if slices.Contains(f.Groups, dv.Group) {
				s.grpDev = append(s.grpDev, dv.ID)
			}
		}
		slices.Sort(s.grpDev)
		s.none = noneBefore || len(s.grp) == 0 && len(s.grpDev) == 0
	}
	if err := check(&s.rule, symQ, f.Rules); err != nil {
		return nil, err
	}
	if err := check(&s.verdict, symQ, f.Verdicts); err != nil {
		return nil, err
	}
	if len(f.Entities) > 0 || len(f.Lists) > 0 {
		es, err := d.Entities(ctx)
		if err != nil {
			return nil, err
		}
		s.ent = []string{}
		for _, e := range es {
			if slices.Contains(f.Entities, e.ID) || anyIn(e.Lists, f.Lists) || anyIn(e.OwnerChain, f.Entities) {
				s.ent = append(s.ent, e.ID)
			}
		}
		if len(s.ent) == 0 {
			s.none = true
		}
	}
	if len(f.Names) > 0 {
		s.name = []string{}
		for _, n := range f.Names {
			n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
			if n == "" {
				continue
			}
			r := reverse(n)
			err := d.query(ctx, "SELECT DISTINCT name FROM "+d.t("names")+" WHERE name = ? OR (rname >= ? AND rname < ?) LIMIT 10000", func(rw driver.Rows) error {
				var x string
				if err := rw.Scan(&x); err != nil {
					return err
				}
				if !slices.Contains(s.name, x) {
					s.name = append(s.name, x)
				}
				return nil
			}, n, r+".", r+"/")
			if err != nil {
				return nil, err
			}
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

// flowCond is the condition on flow tables (dev, ent columns).
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
		c = append(c, "ent != ''")
	}
	return strings.Join(c, " AND ")
}

// queryCond is the condition on query tables.
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
		c = append(c, "ent != ''")
	}
	return strings.Join(c, " AND ")
}

func (s *sel) hostOK() bool { return s.dev == nil && s.grpDev == nil }

func and(conds ...string) string {
	var c []string
	for _, x := range conds {
		if x != "" {
			c = append(c, "("+x+")")
		}
	}
	if len(c) == 0 {
		return "1"
	}
	return strings.Join(c, " AND ")
}

func limit(f *store.Filter) (lim, off int) {
	lim = f.Limit
	if lim <= 0 {
		lim = store.DefaultLimit
	}
	return min(lim, store.MaxLimit), max(f.Offset, 0)
}

// family is a rollup: its hourly and daily tables, its key columns
// after the hour or day, and its values, first and last at the end.
type family struct {
	hourly, daily string
	keys          []string
	values        string
}

var (
	flowFam  = family{"flow_h", "flow_d", []string{"dev", "ent", "role"}, "sumMerge(bo), sumMerge(bi), sumMerge(po), sumMerge(pi), sumMerge(n), minMerge(first), maxMerge(last)"}
	queryFam = family{"query_h", "query_d", []string{"dev", "grp", "rule", "ent", "verdict"}, "sumMerge(n), toUInt64(minMerge(first)), toUInt64(maxMerge(last))"}
)

// long says whether p is answered in whole UTC days.
func (p period) long() bool { return p.hhi-p.hlo >= shortPeriod }

// from is where a rollup of p is read: the daily table, its day column
// and range of days for a long period, else the hourly one, "h" and the
// hours.
func (p period) from(hourly, daily string) (table, col string, lo, hi int64) {
	if p.long() {
		lo, hi = p.days()
		return daily, "d", lo, hi
	}
	lo, hi = p.hours()
	return hourly, "h", lo, hi
}

// rollup calls fn with the values of each key and hour (short periods)
// or UTC day (long ones, from the daily rollup) of the period, within
// cond: the rows the SQLite store's rollup tables give for the same
// period. v's first and last are Unix ms.
func (d *DB) rollup(ctx context.Context, f family, cond string, p period, fn func(key []string, day int64, v []uint64) error) error {
	table, col, lo, hi := p.from(f.hourly, f.daily)
	keys := strings.Join(f.keys, ", ")
	key := make([]string, len(f.keys))
	nv := strings.Count(f.values, "Merge(")
	v := make([]uint64, nv)
	var tv int64
	dst := []any{&tv}
	for i := range key {
		dst = append(dst, &key[i])
	}
	var first, last int64
	for i := range v[:nv-2] {
		dst = append(dst, &v[i])
	}
	signed := f.hourly == "flow_h"
	if signed {
		dst = append(dst, &first, &last)
	} else {
		dst = append(dst, &v[nv-2], &v[nv-1])
	}
	q := "SELECT " + col + " AS t, " + keys + ", " + f.values + " FROM " + d.t(table) + " WHERE " + col + " >= ? AND " + col + " < ? AND " + and(cond) + " GROUP BY t, " + keys
	return d.query(ctx, q, func(r driver.Rows) error {
		if err := r.Scan(dst...); err != nil {
			return err
		}
		if signed {
			v[nv-2], v[nv-1] = uint64(first), uint64(last)
		}
		day := tv
		if col == "h" {
			day = floorDiv(tv, 24)
		}
		return fn(key, day, v)
	}, lo, hi)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Entities returns the entity facts held, by ID.
func (d *DB) Entities(ctx context.Context) ([]store.Entity, error) {
	var out []store.Entity
	err := d.query(ctx, "SELECT key, argMaxIf(name, seq, name != ''), argMaxIf(jur, seq, jur != ''), argMaxIf(chain, seq, chain != ''), "+
		"argMaxIf(lists, seq, lists != ''), argMaxIf(kind, seq, kind != ''), argMaxIf(reg, seq, reg != ''), argMaxIf(unverified, seq, lists != '') "+
		"FROM "+d.t("ent_v")+" GROUP BY key ORDER BY key", func(r driver.Rows) error {
		var e store.Entity
		var chain, lists, unv string
		if err := r.Scan(&e.ID, &e.Name, &e.Jurisdiction, &chain, &lists, &e.Kind, &e.Registered, &unv); err != nil {
			return err
		}
		if e.Name == "" {
			e.Name = e.ID
		}
		e.OwnerChain, e.Lists, e.Unverified = splitList(chain), splitList(lists), splitList(unv)
		out = append(out, e)
		return nil
	})
	return out, err
}

// devices returns the devices of keys (all of them when keys is nil).
func (d *DB) devices(ctx context.Context, keys []string) (map[string]store.Device, error) {
	out := map[string]store.Device{}
	if keys != nil && len(keys) == 0 {
		return out, nil
	}
	where := "1"
	if keys != nil {
		where = inList("key", keys)
	}
	err := d.query(ctx, "SELECT key, argMaxIf(mac, seq, mac != ''), argMaxIf(name, seq, name != ''), argMaxIf(vendor, seq, vendor != ''), "+
		"argMaxIf(grp, seq, grp != ''), argMaxIf(owner, seq, owner != ''), argMaxIf(platform, seq, platform != '') FROM "+d.t("dev_v")+
		" WHERE "+where+" GROUP BY key", func(r driver.Rows) error {
		var dv store.Device
		if err := r.Scan(&dv.ID, &dv.MAC, &dv.Name, &dv.Vendor, &dv.Group, &dv.Owner, &dv.Platform); err != nil {
			return err
		}
		out[dv.ID] = dv
		return nil
	})
	return out, err
}

// rules returns the rules, folded as the SQLite store's upserts fold
// them: a definition's non-empty fields win, the deadline is the last
// written (by a definition or a query), and a rule only queries named
// keeps the action of the first of them.
func (d *DB) rules(ctx context.Context) ([]store.Rule, error) {
	var out []store.Rule
	err := d.query(ctx, "SELECT key, argMaxIf(action, seq, action != '' AND seen = 0), argMinIf(action, seq, seen = 1), argMaxIf(basis, seq, basis != ''), "+
		"argMax(deadline, seq), argMaxIf(groups, seq, groups != ''), argMaxIf(entities, seq, entities != ''), argMaxIf(lists, seq, lists != '') FROM "+
		d.t("rule_v")+" GROUP BY key ORDER BY key", func(r driver.Rows) error {
		var rl store.Rule
		var seenAction, groups, ents, lists string
		var deadline int64
		if err := r.Scan(&rl.ID, &rl.Action, &seenAction, &rl.Basis, &deadline, &groups, &ents, &lists); err != nil {
			return err
		}
		if rl.Action == "" {
			rl.Action = seenAction
		}
		rl.Deadline = tm(deadline)
		rl.Groups, rl.Entities, rl.Lists = splitList(groups), splitList(ents), splitList(lists)
		out = append(out, rl)
		return nil
	})
	return out, err
}

// symExists says whether the store ever held s as a symbol.
func (d *DB) symExists(ctx context.Context, s string) (bool, error) {
	var n uint64
	err := d.conn.QueryRow(ctx, "SELECT count() FROM "+d.t("sym")+" WHERE s = ?", s).Scan(&n)
	return n > 0, err
}
