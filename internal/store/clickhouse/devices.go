package clickhouse

import (
	"cmp"
	"context"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

// Devices lists devices with their exposures; see store.Reader.
func (d *DB) Devices(ctx context.Context, f store.Filter) ([]store.DeviceSummary, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	if s.none {
		return []store.DeviceSummary{}, nil
	}
	out, err := d.deviceSummaries(ctx, d.period(&f), s)
	if err != nil {
		return nil, err
	}
	lim, off := limit(&f)
	if off >= len(out) {
		return []store.DeviceSummary{}, nil
	}
	return out[off:min(len(out), off+lim)], nil
}

func (d *DB) deviceSummaries(ctx context.Context, p period, s *sel) ([]store.DeviceSummary, error) {
	type agg struct {
		sum  store.DeviceSummary
		exps map[[2]string]*store.Exposure
	}
	devs := map[string]*agg{}
	get := func(dev string) *agg {
		a := devs[dev]
		if a == nil {
			a = &agg{exps: map[[2]string]*store.Exposure{}}
			devs[dev] = a
		}
		return a
	}
	err := d.rollup(ctx, flowFam, s.flowCond(), p, func(key []string, _ int64, v []uint64) error {
		dev, ent, role := key[0], key[1], key[2]
		t := traffic(v)
		first, last := tm(int64(v[5])), tm(int64(v[6]))
		a := get(dev)
		a.sum.Total.Add(t)
		a.sum.Last = maxTime(a.sum.Last, last)
		if ent == "" {
			return nil
		}
		a.sum.Concern.Add(t)
		k := [2]string{ent, role}
		e := a.exps[k]
		if e == nil {
			e = &store.Exposure{Entity: ent, Role: role, First: first, Last: last}
			a.exps[k] = e
		}
		e.Traffic.Add(t)
		if first.Before(e.First) {
			e.First = first
		}
		e.Last = maxTime(e.Last, last)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !s.concern && s.ent == nil {
		err = d.rollup(ctx, queryFam, s.queryCond(), p, func(key []string, _ int64, v []uint64) error {
			a := get(key[0])
			a.sum.Queries += v[0]
			if key[4] == "block" {
				a.sum.Blocked += v[0]
			}
			a.sum.Last = maxTime(a.sum.Last, tm(int64(v[2])))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(devs))
	for k := range devs {
		keys = append(keys, k)
	}
	info, err := d.devices(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]store.DeviceSummary, 0, len(devs))
	for id, a := range devs {
		a.sum.Device = info[id]
		a.sum.Exposures = make([]store.Exposure, 0, len(a.exps))
		for _, e := range a.exps {
			a.sum.Exposures = append(a.sum.Exposures, *e)
		}
		slices.SortFunc(a.sum.Exposures, func(x, y store.Exposure) int {
			return cmp.Or(cmp.Compare(y.BytesOut+y.BytesIn, x.BytesOut+x.BytesIn), cmp.Compare(x.Entity, y.Entity), cmp.Compare(x.Role, y.Role))
		})
		out = append(out, a.sum)
	}
	slices.SortFunc(out, func(x, y store.DeviceSummary) int {
		return cmp.Or(cmp.Compare(y.Concern.BytesOut, x.Concern.BytesOut), cmp.Compare(len(y.Exposures), len(x.Exposures)),
			cmp.Compare(y.Blocked, x.Blocked), cmp.Compare(y.Total.BytesOut, x.Total.BytesOut), cmp.Compare(x.Device.ID, y.Device.ID))
	})
	return out, nil
}

// Device is one device's page; see store.Reader.
func (d *DB) Device(ctx context.Context, id string, f store.Filter) (*store.DeviceDetail, error) {
	info, err := d.devices(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if _, ok := info[id]; !ok {
		return nil, store.ErrNotFound
	}
	f.Devices = []string{id}
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	p := d.period(&f)
	dd := &store.DeviceDetail{Names: []store.NameCount{}, Blocked: []store.BlockedCount{}, Inventory: []store.InventoryItem{}, Audits: []store.AuditSummary{}}
	if !s.none {
		sums, err := d.deviceSummaries(ctx, p, s)
		if err != nil {
			return nil, err
		}
		if len(sums) > 0 {
			dd.DeviceSummary = sums[0]
		}
	}
	if dd.Device.ID == "" {
		dd.Device = info[id]
		dd.Exposures = []store.Exposure{}
	}
	ents := map[string]int{}
	for i, e := range dd.Exposures {
		ents[e.Entity] = i
	}
	err = d.query(ctx, "SELECT ent, kind, value, argMaxIf(rule, seq, rule != ''), argMaxIf(source, seq, source != ''), min(first) AS f, max(last) AS l FROM "+
		d.t("evidence")+" WHERE dev = ? GROUP BY ent, kind, value HAVING l >= ? AND f < ? ORDER BY l DESC, ent, kind, value", func(r driver.Rows) error {
		var ent string
		var ev store.Evidence
		var first, last int64
		if err := r.Scan(&ent, &ev.Kind, &ev.Value, &ev.Rule, &ev.Source, &first, &last); err != nil {
			return err
		}
		ev.First, ev.Last = tm(first), tm(last)
		if i, ok := ents[ent]; ok && len(dd.Exposures[i].Evidence) < 50 {
			dd.Exposures[i].Evidence = append(dd.Exposures[i].Evidence, ev)
		}
		return nil
	}, id, p.hlo*msHour, p.hhi*msHour)
	if err != nil {
		return nil, err
	}
	nf := f
	nf.Limit = 200
	if dd.Names, err = d.Names(ctx, nf); err != nil {
		return nil, err
	}
	bf := f
	bf.Limit = 100
	if dd.Blocked, err = d.Blocked(ctx, bf); err != nil {
		return nil, err
	}
	if dd.Inventory, err = d.Inventory(ctx, store.Filter{Devices: []string{id}, Limit: 500}); err != nil {
		return nil, err
	}
	if dd.Audits, err = d.Audits(ctx, store.Filter{Devices: []string{id}, Limit: 100}); err != nil {
		return nil, err
	}
	return dd, nil
}
