package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

const sums = "sum(bo), sum(bi), sum(po), sum(pi), sum(n)"

func scanTraffic(dst *store.Traffic) []any {
	return []any{&dst.BytesOut, &dst.BytesIn, &dst.PacketsOut, &dst.PacketsIn, &dst.Flows}
}

// trendDays bounds the overview's daily trend.
const trendDays = 92

// trendEntities is how many entities the trend names; the rest are summed.
const trendEntities = 8

// Overview answers the dashboard's first page; see store.Reader.
func (d *DB) Overview(ctx context.Context, f store.Filter) (*store.Overview, error) {
	p := d.period(&f)
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	ov := &store.Overview{Until: tm(p.hi), Entities: []store.EntityTotal{}, Trend: []store.TrendPoint{},
		ByJurisdiction: []store.AreaTotal{}, ByHost: []store.HostTotal{}}
	first, last, err := d.span(ctx)
	if err != nil {
		return nil, err
	}
	ov.Since = first
	if !f.Since.IsZero() {
		ov.Since = f.Since.UTC()
	}
	if s.none {
		return ov, nil
	}
	es, err := d.entities(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*entRow{}
	for i := range es {
		byID[es[i].id] = &es[i]
	}
	totals := map[int64]*store.EntityTotal{}
	tot := func(ent int64) *store.EntityTotal {
		t := totals[ent]
		if t == nil {
			t = &store.EntityTotal{}
			if e := byID[ent]; e != nil {
				t.Entity = e.e
			}
			totals[ent] = t
		}
		return t
	}
	// Traffic per entity for the period and each window.
	windows := []struct {
		p   period
		dst func(*store.EntityTotal) *store.Traffic
	}{
		{p, func(t *store.EntityTotal) *store.Traffic { return &t.Period }},
		{p.window(24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Day }},
		{p.window(7 * 24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Week }},
		{p.window(30 * 24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Month }},
	}
	base, cond := "host", s.flowCond()
	for i, w := range windows {
		add := func(ent int64, t store.Traffic) {
			if ent == 0 {
				if i == 0 {
					ov.Other.Add(t)
				}
				return
			}
			if i == 0 {
				ov.Concern.Add(t)
			}
			w.dst(tot(ent)).Add(t)
		}
		if !s.hostOK() {
			// a device selection: the hosting tables have no devices
			err := d.rollup(ctx, flowFam, cond, w.p, func(key []int64, _ int64, v []uint64) error {
				add(key[1], store.Traffic{BytesOut: v[0], BytesIn: v[1], PacketsOut: v[2], PacketsIn: v[3], Flows: v[4]})
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		q := "SELECT ent, " + sums + " FROM (" + union(base, "ent, bo, bi, po, pi, n", cond, w.p) + ") GROUP BY ent"
		err := d.query(ctx, q, func(r *sql.Rows) error {
			var ent int64
			var t store.Traffic
			if err := r.Scan(append([]any{&ent}, scanTraffic(&t)...)...); err != nil {
				return err
			}
			add(ent, t)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Devices per entity, from the distinct pairs.
	devs := map[int64]bool{}
	concernDevs := map[int64]bool{}
	entDevs := map[int64]map[int64]bool{}
	err = d.rollup(ctx, flowFam, cond, p, func(key []int64, _ int64, _ []uint64) error {
		dev, ent := key[0], key[1]
		devs[dev] = true
		if ent != 0 {
			concernDevs[dev] = true
			if entDevs[ent] == nil {
				entDevs[ent] = map[int64]bool{}
			}
			entDevs[ent][dev] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ov.DevicesSeen, ov.Devices = len(devs), len(concernDevs)
	for ent, m := range entDevs {
		tot(ent).Devices = len(m)
	}
	// Queries per entity.
	blockID := d.symID(ctx, "block")
	err = d.rollup(ctx, queryFam, s.queryCond(), p, func(key []int64, _ int64, v []uint64) error {
		ent, verdict, n := key[3], key[4], v[0]
		ov.Queries += n
		blocked := verdict == blockID && blockID != 0
		if blocked {
			ov.QueriesBlocked += n
		}
		if ent != 0 {
			t := tot(ent)
			t.Queries += n
			if blocked {
				t.Blocked += n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range totals {
		ov.Entities = append(ov.Entities, *t)
	}
	slices.SortFunc(ov.Entities, func(a, b store.EntityTotal) int {
		return cmp.Or(cmp.Compare(b.Period.BytesOut, a.Period.BytesOut), cmp.Compare(b.Month.BytesOut, a.Month.BytesOut),
			cmp.Compare(b.Queries, a.Queries), cmp.Compare(a.Entity.ID, b.Entity.ID))
	})
	// Jurisdictions of the owners.
	areas := map[string]*store.AreaTotal{}
	areaDevs := map[string]map[int64]bool{}
	for ent, t := range totals {
		j := t.Entity.Jurisdiction
		a := areas[j]
		if a == nil {
			a = &store.AreaTotal{Country: j}
			areas[j] = a
			areaDevs[j] = map[int64]bool{}
		}
		if t.Period.Flows > 0 || t.Period.BytesOut > 0 {
			a.Entities = append(a.Entities, t.Entity.ID)
		}
		a.Traffic.Add(t.Period)
		for dev := range entDevs[ent] {
			areaDevs[j][dev] = true
		}
	}
	for j, a := range areas {
		if a.Flows == 0 && a.BytesOut == 0 {
			continue
		}
		a.Devices = len(areaDevs[j])
		slices.Sort(a.Entities)
		ov.ByJurisdiction = append(ov.ByJurisdiction, *a)
	}
	slices.SortFunc(ov.ByJurisdiction, func(a, b store.AreaTotal) int {
		return cmp.Or(cmp.Compare(b.BytesOut, a.BytesOut), cmp.Compare(a.Country, b.Country))
	})
	// Hosting networks of the traffic to entities of concern.
	if s.hostOK() {
		nm := d.newNames(ctx)
		type hk struct{ host, hc int64 }
		var keys []hk
		var vals []store.Traffic
		hcond := "ent != 0"
		if cond != "" {
			hcond += " AND " + cond
		}
		err = d.query(ctx, "SELECT host, hc, "+sums+" FROM ("+union("host", "host, hc, bo, bi, po, pi, n", hcond, p)+") GROUP BY host, hc", func(r *sql.Rows) error {
			var k hk
			var t store.Traffic
			if err := r.Scan(append([]any{&k.host, &k.hc}, scanTraffic(&t)...)...); err != nil {
				return err
			}
			keys = append(keys, k)
			vals = append(vals, t)
			return nil
		})
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, k := range keys {
			ids = append(ids, k.host, k.hc)
		}
		if err := nm.load("sym", ids); err != nil {
			return nil, err
		}
		for i, k := range keys {
			ov.ByHost = append(ov.ByHost, store.HostTotal{Host: nm.get("sym", k.host), Country: nm.get("sym", k.hc), Traffic: vals[i]})
		}
		slices.SortFunc(ov.ByHost, func(a, b store.HostTotal) int {
			return cmp.Or(cmp.Compare(b.BytesOut, a.BytesOut), cmp.Compare(a.Host, b.Host))
		})
	}
	// Daily trend of the top entities: the last days of the period that
	// hold data.
	tp := p
	if !last.IsZero() && floorDiv(last.UnixMilli(), msHour)+1 < tp.hhi {
		tp.hhi = max(floorDiv(last.UnixMilli(), msHour)+1, tp.hlo)
	}
	if tp.hhi-tp.hlo > trendDays*24 {
		tp.hlo = (floorDiv(tp.hhi, 24) - trendDays + 1) * 24
	}
	top := map[string]bool{}
	for i, t := range ov.Entities {
		if i >= trendEntities {
			break
		}
		top[t.Entity.ID] = true
	}
	trend := map[[2]int64]*store.TrendPoint{}
	tcond := "ent != 0"
	if cond != "" {
		tcond += " AND " + cond
	}
	addTrend := func(day, ent int64, t store.Traffic) {
		key := ""
		if e := byID[ent]; e != nil && top[e.key] {
			key = e.key
		}
		k := [2]int64{day, 0}
		if key != "" {
			k[1] = ent
		}
		pt := trend[k]
		if pt == nil {
			pt = &store.TrendPoint{Day: time.Unix(day*86400, 0).UTC(), Entity: key}
			trend[k] = pt
		}
		pt.Traffic.Add(t)
	}
	if s.hostOK() {
		err = d.query(ctx, "SELECT day, ent, "+sums+" FROM ("+union(base, "$day AS day, ent, bo, bi, po, pi, n", tcond, tp)+") GROUP BY day, ent",
			func(r *sql.Rows) error {
				var day, ent int64
				var t store.Traffic
				if err := r.Scan(append([]any{&day, &ent}, scanTraffic(&t)...)...); err != nil {
					return err
				}
				addTrend(day, ent, t)
				return nil
			})
	} else {
		err = d.rollup(ctx, flowFam, tcond, tp, func(key []int64, day int64, v []uint64) error {
			addTrend(day, key[1], store.Traffic{BytesOut: v[0], BytesIn: v[1], PacketsOut: v[2], PacketsIn: v[3], Flows: v[4]})
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	for _, pt := range trend {
		ov.Trend = append(ov.Trend, *pt)
	}
	slices.SortFunc(ov.Trend, func(a, b store.TrendPoint) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Entity, b.Entity))
	})
	return ov, nil
}

// symID is the id of a symbol, 0 if the store never saw it.
func (d *DB) symID(ctx context.Context, s string) int64 {
	var id int64
	d.r.QueryRowContext(ctx, "SELECT id FROM sym WHERE s = ?", s).Scan(&id)
	return id
}
