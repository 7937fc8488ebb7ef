package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"

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
		exps map[[2]int64]*store.Exposure
	}
	devs := map[int64]*agg{}
	get := func(dev int64) *agg {
		a := devs[dev]
		if a == nil {
			a = &agg{exps: map[[2]int64]*store.Exposure{}}
			devs[dev] = a
		}
		return a
	}
	nm := d.newNames(ctx)
	var entIDs, roleIDs []int64
	err := d.rollup(ctx, flowFam, s.flowCond(), p, func(key []int64, _ int64, v []uint64) error {
		dev, ent, role := key[0], key[1], key[2]
		t := store.Traffic{BytesOut: v[0], BytesIn: v[1], PacketsOut: v[2], PacketsIn: v[3], Flows: v[4]}
		first, last := tm(int64(v[5])), tm(int64(v[6]))
		a := get(dev)
		a.sum.Total.Add(t)
		a.sum.Last = maxTime(a.sum.Last, last)
		if ent == 0 {
			return nil
		}
		a.sum.Concern.Add(t)
		k := [2]int64{ent, role}
		e := a.exps[k]
		if e == nil {
			e = &store.Exposure{First: first, Last: last}
			a.exps[k] = e
			entIDs = append(entIDs, ent)
			roleIDs = append(roleIDs, role)
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
		blockID := d.symID(ctx, "block")
		err = d.rollup(ctx, queryFam, s.queryCond(), p, func(key []int64, _ int64, v []uint64) error {
			a := get(key[0])
			a.sum.Queries += v[0]
			if key[4] == blockID && blockID != 0 {
				a.sum.Blocked += v[0]
			}
			a.sum.Last = maxTime(a.sum.Last, tm(int64(v[2])))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := nm.load("ent", entIDs); err != nil {
		return nil, err
	}
	if err := nm.load("sym", roleIDs); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(devs))
	for id := range devs {
		ids = append(ids, id)
	}
	info, err := d.deviceInfo(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.DeviceSummary, 0, len(devs))
	for id, a := range devs {
		a.sum.Device = info[id]
		a.sum.Exposures = make([]store.Exposure, 0, len(a.exps))
		for k, e := range a.exps {
			e.Entity, e.Role = nm.get("ent", k[0]), nm.get("sym", k[1])
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

func (d *DB) deviceInfo(ctx context.Context, ids []int64) (map[int64]store.Device, error) {
	out := make(map[int64]store.Device, len(ids))
	for len(ids) > 0 {
		part := ids[:min(len(ids), 500)]
		ids = ids[len(part):]
		err := d.query(ctx, "SELECT id, key, mac, name, vendor, grp, owner, platform FROM dev WHERE "+inList("id", part), func(r *sql.Rows) error {
			var id int64
			var dv store.Device
			if err := r.Scan(&id, &dv.ID, &dv.MAC, &dv.Name, &dv.Vendor, &dv.Group, &dv.Owner, &dv.Platform); err != nil {
				return err
			}
			out[id] = dv
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Device is one device's page; see store.Reader.
func (d *DB) Device(ctx context.Context, id string, f store.Filter) (*store.DeviceDetail, error) {
	var devID int64
	if err := d.r.QueryRowContext(ctx, "SELECT id FROM dev WHERE key = ?", id).Scan(&devID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
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
		info, err := d.deviceInfo(ctx, []int64{devID})
		if err != nil {
			return nil, err
		}
		dd.Device = info[devID]
		dd.Exposures = []store.Exposure{}
	}
	// Evidence of each exposure.
	ents := map[string]int{}
	for i, e := range dd.Exposures {
		ents[e.Entity] = i
	}
	err = d.query(ctx, "SELECT e.key, v.kind, v.value, v.rule, v.source, v.first, v.last FROM evidence v JOIN ent e ON e.id = v.ent WHERE v.dev = ? AND v.last >= ? AND v.first < ? ORDER BY v.last DESC",
		func(r *sql.Rows) error {
			var key string
			var ev store.Evidence
			var first, last int64
			if err := r.Scan(&key, &ev.Kind, &ev.Value, &ev.Rule, &ev.Source, &first, &last); err != nil {
				return err
			}
			ev.First, ev.Last = tm(first), tm(last)
			if i, ok := ents[key]; ok && len(dd.Exposures[i].Evidence) < 50 {
				dd.Exposures[i].Evidence = append(dd.Exposures[i].Evidence, ev)
			}
			return nil
		}, devID, p.hlo*msHour, p.hhi*msHour)
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
	inf := store.Filter{Devices: []string{id}, Limit: 500}
	if dd.Inventory, err = d.Inventory(ctx, inf); err != nil {
		return nil, err
	}
	if dd.Audits, err = d.Audits(ctx, store.Filter{Devices: []string{id}, Limit: 100}); err != nil {
		return nil, err
	}
	return dd, nil
}
