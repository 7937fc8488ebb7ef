package clickhouse

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

// flowWhere selects the flow detail rows of the period and selection,
// as the SQLite store's segment scan and match do.
func (s *sel) flowWhere() string {
	c := []string{"h >= ? AND h < ? AND last >= ? AND first < ?"}
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
	if s.name != nil {
		c = append(c, inList("name", s.name))
	}
	if s.rule != nil {
		c = append(c, inList("rule", s.rule))
	}
	if s.verdict != nil {
		c = append(c, inList("verdict", s.verdict))
	}
	return and(c...)
}

// queryWhere selects the query detail rows of the period and selection.
func (s *sel) queryWhere() string {
	c := []string{"h >= ? AND h < ? AND t >= ? AND t < ?"}
	if s.dev != nil {
		c = append(c, inList("dev", s.dev))
	}
	if s.grp != nil {
		c = append(c, "("+inList("grp", s.grp)+" OR "+inList("dev", s.grpDev)+")")
	}
	if s.ent != nil {
		c = append(c, inList("ent", s.ent))
	}
	if s.concern {
		c = append(c, "ent != ''")
	}
	if s.name != nil {
		c = append(c, inList("name", s.name))
	}
	if s.rule != nil {
		c = append(c, inList("rule", s.rule))
	}
	if s.verdict != nil {
		c = append(c, inList("verdict", s.verdict))
	}
	return and(c...)
}

func (p period) args() []any { return []any{max(p.hlo, 0), p.hhi, p.lo, p.hi} }

// Flows lists flow rows newest first; see store.Reader.
func (d *DB) Flows(ctx context.Context, f store.Filter) ([]store.Flow, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	out := []store.Flow{}
	if s.none {
		return out, nil
	}
	p := d.period(&f)
	lim, off := limit(&f)
	where := s.flowWhere()
	from, err := d.newest(ctx, "flow", where, p, off+lim)
	if err != nil {
		return nil, err
	}
	keys, err := d.pageKeys(ctx, "flow", "last", where, append(p.args(), from, lim, off))
	if len(keys) == 0 || err != nil {
		return out, err
	}
	rows := map[rowKey][]store.Flow{}
	err = d.query(ctx, "SELECT h, first, last, dev, grp, proto, peer, port, name, ent, role, host, hc, verdict, rule, source, bo, bi, po, pi, n, ord FROM "+
		d.t("flow")+" WHERE "+keysWhere(keys), func(r driver.Rows) error {
		var fl store.Flow
		var h, first, last, ord int64
		if err := r.Scan(&h, &first, &last, &fl.Device, &fl.Group, &fl.Proto, &fl.Peer, &fl.Port, &fl.Name, &fl.Entity, &fl.Role, &fl.Host,
			&fl.HostCountry, &fl.Verdict, &fl.Rule, &fl.Source, &fl.BytesOut, &fl.BytesIn, &fl.PacketsOut, &fl.PacketsIn, &fl.Flows, &ord); err != nil {
			return err
		}
		fl.Hour, fl.First, fl.Last = time.UnixMilli(h*msHour).UTC(), tm(first), tm(last)
		k := rowKey{fl.Device, h, ord, last}
		rows[k] = append(rows[k], fl)
		return nil
	})
	return inOrder(keys, rows), err
}

// rowKey names a detail row: its device, hour, sequence number and the
// time it is listed by.
type rowKey struct {
	dev        string
	h, ord, at int64
}

// pageKeys returns the keys of a page of the newest rows of table in
// where (args: where's, the first hour, limit, offset), in order. Only
// the columns of the selection and the sort are read; the rows are then
// fetched by key, which the primary key (device, hour) finds in a few
// small granules, instead of reading every column of every granule
// that holds a row of the last hours.
func (d *DB) pageKeys(ctx context.Context, table, at, where string, args []any) ([]rowKey, error) {
	var keys []rowKey
	err := d.query(ctx, "SELECT dev, h, ord, "+at+" FROM "+d.t(table)+" WHERE "+where+" AND h >= ? ORDER BY "+at+" DESC, h DESC, ord LIMIT ? OFFSET ?",
		func(r driver.Rows) error {
			var k rowKey
			if err := r.Scan(&k.dev, &k.h, &k.ord, &k.at); err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		}, args...)
	return keys, err
}

// keysWhere selects the rows of keys (and perhaps a few more, sharing a
// device, hour and sequence number with another row: inOrder picks).
func keysWhere(keys []rowKey) string {
	var devs []string
	hours, ords := map[int64]bool{}, make([]string, 0, len(keys))
	var hs []string
	for _, k := range keys {
		if !slices.Contains(devs, k.dev) {
			devs = append(devs, k.dev)
		}
		if !hours[k.h] {
			hours[k.h] = true
			hs = append(hs, strconv.FormatInt(k.h, 10))
		}
		ords = append(ords, strconv.FormatInt(k.ord, 10))
	}
	return inList("dev", devs) + " AND h IN (" + strings.Join(hs, ",") + ") AND ord IN (" + strings.Join(ords, ",") + ")"
}

// inOrder is the rows of keys in keys' order.
func inOrder[R any](keys []rowKey, rows map[rowKey][]R) []R {
	out := make([]R, 0, len(keys))
	for _, k := range keys {
		if rs := rows[k]; len(rs) > 0 {
			out = append(out, rs[0])
			rows[k] = rs[1:]
		}
	}
	return out
}

// newest is the hour from which the rows of table in where (with p's
// arguments) number at least want, newest hour first, or the period's
// first hour when they are fewer: the rows the SQLite store sorts for
// a page of the newest, which walks whole hours back from the newest
// until it has enough. Detail rows are partitioned by day, so the walk
// reads the last days only; it looks back a day, then twice as far each
// time.
func (d *DB) newest(ctx context.Context, table, where string, p period, want int) (int64, error) {
	lo, hi := max(p.hlo, 0), p.hhi
	n := 0
	for span := int64(24); hi > lo; span *= 2 {
		from, found := max(hi-span, lo), int64(-1)
		err := d.query(ctx, "SELECT h, count() FROM "+d.t(table)+" WHERE "+where+" AND h >= ? AND h < ? GROUP BY h ORDER BY h DESC",
			func(r driver.Rows) error {
				var h int64
				var c uint64
				if err := r.Scan(&h, &c); err != nil {
					return err
				}
				if n += int(c); n >= want && found < 0 {
					found = h
				}
				return nil
			}, append(p.args(), from, hi)...)
		if err != nil || found >= 0 {
			return found, err
		}
		hi = from
	}
	return lo, nil
}

// Queries lists query rows newest first; see store.Reader.
func (d *DB) Queries(ctx context.Context, f store.Filter) ([]store.Query, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	out := []store.Query{}
	if s.none {
		return out, nil
	}
	p := d.period(&f)
	lim, off := limit(&f)
	where := s.queryWhere()
	from, err := d.newest(ctx, "query", where, p, off+lim)
	if err != nil {
		return nil, err
	}
	keys, err := d.pageKeys(ctx, "query", "t", where, append(p.args(), from, lim, off))
	if len(keys) == 0 || err != nil {
		return out, err
	}
	rows := map[rowKey][]store.Query{}
	err = d.query(ctx, "SELECT t, h, dev, grp, proto, name, typ, rcode, verdict, rule, ent, reason, deadline, latency_us, cached, ord FROM "+
		d.t("query")+" WHERE "+keysWhere(keys), func(r driver.Rows) error {
		var q store.Query
		var t, h, deadline, ord int64
		var lat uint64
		var cached uint8
		if err := r.Scan(&t, &h, &q.Client, &q.Group, &q.Proto, &q.Name, &q.Type, &q.RCode, &q.Verdict, &q.Rule, &q.Entity, &q.Reason,
			&deadline, &lat, &cached, &ord); err != nil {
			return err
		}
		q.Time, q.Deadline, q.Latency, q.Cached = tm(t), tm(deadline), time.Duration(lat)*time.Microsecond, cached != 0
		k := rowKey{q.Client, h, ord, t}
		rows[k] = append(rows[k], q)
		return nil
	})
	return inOrder(keys, rows), err
}

// Names lists names with their traffic and queries; see store.Reader.
// Without a device or name selection, the names of entities of concern
// from their daily rollup.
func (d *DB) Names(ctx context.Context, f store.Filter) ([]store.NameCount, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	if s.none {
		return []store.NameCount{}, nil
	}
	p := d.period(&f)
	lim, off := limit(&f)
	type key struct{ name, ent string }
	agg := map[key]*store.NameCount{}
	get := func(k key) *store.NameCount {
		a := agg[k]
		if a == nil {
			a = &store.NameCount{Name: k.name, Entity: k.ent}
			agg[k] = a
		}
		return a
	}
	if s.dev != nil || s.grpDev != nil || s.name != nil {
		devsOf := map[key]map[string]bool{}
		addDevs := func(k key, devs []string) {
			if devsOf[k] == nil {
				devsOf[k] = map[string]bool{}
			}
			for _, dv := range devs {
				devsOf[k][dv] = true
			}
		}
		err := d.query(ctx, "SELECT name, ent, sum(bo), sum(bi), sum(po), sum(pi), sum(n), max(last), groupUniqArray(dev) FROM "+d.t("flow")+
			" WHERE name != '' AND "+s.flowWhere()+" GROUP BY name, ent", func(r driver.Rows) error {
			var k key
			var t store.Traffic
			var last int64
			var devs []string
			if err := r.Scan(append(append([]any{&k.name, &k.ent}, scanTraffic(&t)...), &last, &devs)...); err != nil {
				return err
			}
			a := get(k)
			a.Traffic.Add(t)
			a.Last = maxTime(a.Last, tm(last))
			addDevs(k, devs)
			return nil
		}, p.args()...)
		if err != nil {
			return nil, err
		}
		err = d.query(ctx, "SELECT name, ent, count(), countIf(verdict = 'block'), max(t), groupUniqArray(dev) FROM "+d.t("query")+
			" WHERE name != '' AND "+s.queryWhere()+" GROUP BY name, ent", func(r driver.Rows) error {
			var k key
			var n, nb uint64
			var last int64
			var devs []string
			if err := r.Scan(&k.name, &k.ent, &n, &nb, &last, &devs); err != nil {
				return err
			}
			a := get(k)
			a.Queries += n
			a.Blocked += nb
			a.Last = maxTime(a.Last, tm(last))
			addDevs(k, devs)
			return nil
		}, p.args()...)
		if err != nil {
			return nil, err
		}
		for k, m := range devsOf {
			agg[k].Devices = len(m)
		}
	} else {
		cond := "ent != ''"
		if s.ent != nil {
			cond += " AND " + inList("ent", s.ent)
		}
		err := d.query(ctx, "SELECT name, ent, "+sums+", sumMerge(q), sumMerge(qb), maxMerge(last) FROM "+d.t("name_d")+
			" WHERE d >= ? AND d < ? AND "+cond+" GROUP BY name, ent", func(r driver.Rows) error {
			var k key
			var t store.Traffic
			var q, qb uint64
			var last int64
			if err := r.Scan(append(append([]any{&k.name, &k.ent}, scanTraffic(&t)...), &q, &qb, &last)...); err != nil {
				return err
			}
			a := get(k)
			a.Traffic, a.Queries, a.Blocked, a.Last = t, q, qb, tm(last)
			return nil
		}, floorDiv(p.hlo, 24), floorDiv(p.hhi+23, 24))
		if err != nil {
			return nil, err
		}
	}
	out := make([]store.NameCount, 0, len(agg))
	for _, a := range agg {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y store.NameCount) int {
		return cmp.Or(cmp.Compare(y.BytesOut+y.BytesIn, x.BytesOut+x.BytesIn), cmp.Compare(y.Queries, x.Queries),
			cmp.Compare(x.Name, y.Name), cmp.Compare(x.Entity, y.Entity))
	})
	if off >= len(out) {
		return []store.NameCount{}, nil
	}
	return out[off:min(len(out), off+lim)], nil
}
