package clickhouse

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

const (
	trendDays     = 92 // bounds the overview's daily trend
	trendEntities = 8  // entities the trend names; the rest are summed
)

const sums = "sumMerge(bo), sumMerge(bi), sumMerge(po), sumMerge(pi), sumMerge(n)"

func scanTraffic(t *store.Traffic) []any {
	return []any{&t.BytesOut, &t.BytesIn, &t.PacketsOut, &t.PacketsIn, &t.Flows}
}

func traffic(v []uint64) store.Traffic {
	return store.Traffic{BytesOut: v[0], BytesIn: v[1], PacketsOut: v[2], PacketsIn: v[3], Flows: v[4]}
}

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
	es, err := d.Entities(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Entity{}
	for _, e := range es {
		byID[e.ID] = e
	}
	totals := map[string]*store.EntityTotal{}
	tot := func(ent string) *store.EntityTotal {
		t := totals[ent]
		if t == nil {
			t = &store.EntityTotal{Entity: byID[ent]}
			totals[ent] = t
		}
		return t
	}
	windows := []struct {
		p   period
		dst func(*store.EntityTotal) *store.Traffic
	}{
		{p, func(t *store.EntityTotal) *store.Traffic { return &t.Period }},
		{p.window(24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Day }},
		{p.window(7 * 24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Week }},
		{p.window(30 * 24 * time.Hour), func(t *store.EntityTotal) *store.Traffic { return &t.Month }},
	}
	cond := s.flowCond()
	for i, w := range windows {
		add := func(ent string, t store.Traffic) {
			if ent == "" {
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
			err := d.rollup(ctx, flowFam, cond, w.p, func(key []string, _ int64, v []uint64) error {
				add(key[1], traffic(v))
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		table, col, lo, hi := w.p.from("host_h", "host_d")
		err := d.query(ctx, "SELECT ent, "+sums+" FROM "+d.t(table)+" WHERE "+col+" >= ? AND "+col+" < ? AND "+and(cond)+" GROUP BY ent", func(r driver.Rows) error {
			var ent string
			var t store.Traffic
			if err := r.Scan(append([]any{&ent}, scanTraffic(&t)...)...); err != nil {
				return err
			}
			add(ent, t)
			return nil
		}, lo, hi)
		if err != nil {
			return nil, err
		}
	}
	devs, concernDevs := map[string]bool{}, map[string]bool{}
	entDevs := map[string]map[string]bool{}
	err = d.rollup(ctx, flowFam, cond, p, func(key []string, _ int64, _ []uint64) error {
		dev, ent := key[0], key[1]
		devs[dev] = true
		if ent != "" {
			concernDevs[dev] = true
			if entDevs[ent] == nil {
				entDevs[ent] = map[string]bool{}
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
	err = d.rollup(ctx, queryFam, s.queryCond(), p, func(key []string, _ int64, v []uint64) error {
		ent, n := key[3], v[0]
		ov.Queries += n
		blocked := key[4] == "block"
		if blocked {
			ov.QueriesBlocked += n
		}
		if ent != "" {
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
	areas := map[string]*store.AreaTotal{}
	areaDevs := map[string]map[string]bool{}
	for ent, t := range totals {
		j := t.Entity.Jurisdiction
		a := areas[j]
		if a == nil {
			a = &store.AreaTotal{Country: j}
			areas[j] = a
			areaDevs[j] = map[string]bool{}
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
	if s.hostOK() {
		table, col, lo, hi := p.from("host_h", "host_d")
		err = d.query(ctx, "SELECT host, hc, "+sums+" FROM "+d.t(table)+" WHERE "+col+" >= ? AND "+col+" < ? AND "+and("ent != ''", cond)+" GROUP BY host, hc",
			func(r driver.Rows) error {
				var h store.HostTotal
				if err := r.Scan(append([]any{&h.Host, &h.Country}, scanTraffic(&h.Traffic)...)...); err != nil {
					return err
				}
				ov.ByHost = append(ov.ByHost, h)
				return nil
			}, lo, hi)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(ov.ByHost, func(a, b store.HostTotal) int {
			return cmp.Or(cmp.Compare(b.BytesOut, a.BytesOut), cmp.Compare(a.Host, b.Host))
		})
	}
	// The daily trend of the top entities over the last days that hold data.
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
	trend := map[[2]any]*store.TrendPoint{}
	addTrend := func(day int64, ent string, t store.Traffic) {
		key := ""
		if _, ok := byID[ent]; ok && top[ent] {
			key = ent
		}
		k := [2]any{day, key}
		pt := trend[k]
		if pt == nil {
			pt = &store.TrendPoint{Day: time.Unix(day*86400, 0).UTC(), Entity: key}
			trend[k] = pt
		}
		pt.Traffic.Add(t)
	}
	tcond := and("ent != ''", cond)
	if s.hostOK() {
		table, col, lo, hi := tp.from("host_h", "host_d")
		day := "intDiv(h, 24)"
		if col == "d" {
			day = "d"
		}
		err = d.query(ctx, "SELECT "+day+" AS day, ent, "+sums+" FROM "+d.t(table)+" WHERE "+col+" >= ? AND "+col+" < ? AND "+tcond+" GROUP BY day, ent",
			func(r driver.Rows) error {
				var day int64
				var ent string
				var t store.Traffic
				if err := r.Scan(append([]any{&day, &ent}, scanTraffic(&t)...)...); err != nil {
					return err
				}
				addTrend(day, ent, t)
				return nil
			}, lo, hi)
	} else {
		err = d.rollup(ctx, flowFam, tcond, tp, func(key []string, day int64, v []uint64) error {
			addTrend(day, key[1], traffic(v))
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
