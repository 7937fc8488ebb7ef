package clickhouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

func setList(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Blocked counts blocked queries by rule and group; see store.Reader.
func (d *DB) Blocked(ctx context.Context, f store.Filter) ([]store.BlockedCount, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	ok, err := d.symExists(ctx, "block")
	if err != nil {
		return nil, err
	}
	if s.none || !ok {
		return []store.BlockedCount{}, nil
	}
	type bagg struct {
		b          store.BlockedCount
		devs, ents map[string]bool
	}
	aggs := map[[2]string]*bagg{}
	err = d.rollup(ctx, queryFam, and("verdict = 'block'", s.queryCond()), d.period(&f), func(key []string, _ int64, v []uint64) error {
		k := [2]string{key[2], key[1]}
		a := aggs[k]
		if a == nil {
			a = &bagg{b: store.BlockedCount{Rule: k[0], Group: k[1], First: tm(int64(v[1]))}, devs: map[string]bool{}, ents: map[string]bool{}}
			aggs[k] = a
		}
		a.b.Queries += v[0]
		a.devs[key[0]] = true
		a.ents[key[3]] = true
		if t := tm(int64(v[1])); t.Before(a.b.First) {
			a.b.First = t
		}
		a.b.Last = maxTime(a.b.Last, tm(int64(v[2])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []store.BlockedCount{}
	for _, a := range aggs {
		a.b.Clients = len(a.devs)
		a.b.Entities = setList(a.ents)
		out = append(out, a.b)
	}
	slices.SortFunc(out, func(a, b store.BlockedCount) int {
		return cmp.Or(cmp.Compare(b.Queries, a.Queries), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Group, b.Group))
	})
	lim, off := limit(&f)
	if off >= len(out) {
		return []store.BlockedCount{}, nil
	}
	return out[off:min(len(out), off+lim)], nil
}

// Overdue lists clients that kept asking for blocked names after the
// rule's deadline; see store.Reader.
func (d *DB) Overdue(ctx context.Context, f store.Filter) ([]store.OverdueClient, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	ok, err := d.symExists(ctx, "block")
	if err != nil {
		return nil, err
	}
	if s.none || !ok {
		return []store.OverdueClient{}, nil
	}
	rs, err := d.rules(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Rule{}
	var ids []string
	for _, r := range rs {
		if !r.Deadline.IsZero() && has(s.rule, r.ID) {
			byID[r.ID] = r
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return []store.OverdueClient{}, nil
	}
	type oagg struct {
		o    store.OverdueClient
		ents map[string]bool
	}
	aggs := map[[3]string]*oagg{}
	err = d.rollup(ctx, queryFam, and("verdict = 'block'", inList("rule", ids), s.queryCond()), d.period(&f), func(key []string, _ int64, v []uint64) error {
		rl := byID[key[2]]
		dl := rl.Deadline.UnixMilli()
		// Only what was asked after the deadline counts.
		if int64(v[2]) < dl {
			return nil
		}
		k := [3]string{key[0], key[1], key[2]}
		a := aggs[k]
		if a == nil {
			a = &oagg{o: store.OverdueClient{Client: key[0], Group: key[1], Rule: key[2], Deadline: rl.Deadline, First: tm(max(int64(v[1]), dl))},
				ents: map[string]bool{}}
			aggs[k] = a
		}
		a.o.Queries += v[0]
		a.ents[key[3]] = true
		if t := tm(max(int64(v[1]), dl)); t.Before(a.o.First) {
			a.o.First = t
		}
		a.o.Last = maxTime(a.o.Last, tm(int64(v[2])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows := []store.OverdueClient{}
	for _, a := range aggs {
		a.o.Entities = setList(a.ents)
		rows = append(rows, a.o)
	}
	slices.SortFunc(rows, func(a, b store.OverdueClient) int {
		return cmp.Or(cmp.Compare(b.Queries, a.Queries), b.Last.Compare(a.Last), cmp.Compare(a.Client, b.Client), cmp.Compare(a.Rule, b.Rule))
	})
	lim, off := limit(&f)
	if off >= len(rows) {
		return []store.OverdueClient{}, nil
	}
	rows = rows[off:min(len(rows), off+lim)]
	var devs []string
	for _, o := range rows {
		devs = append(devs, o.Client)
	}
	info, err := d.devices(ctx, devs)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		o := &rows[i]
		o.Name = info[o.Client].Name
		// A few names, from the last hour the client was blocked.
		lastH := floorDiv(o.Last.UnixMilli(), msHour)
		o.Names = []string{}
		err := d.query(ctx, "SELECT name FROM "+d.t("query")+" WHERE dev = ? AND rule = ? AND verdict = 'block' AND h = ? ORDER BY t DESC, ord LIMIT 1000",
			func(r driver.Rows) error {
				var n string
				if err := r.Scan(&n); err != nil {
					return err
				}
				if !slices.Contains(o.Names, n) && len(o.Names) < 5 {
					o.Names = append(o.Names, n)
				}
				return nil
			}, o.Client, o.Rule, lastH)
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// Due lists rules whose deadline is still ahead and what hits them; see
// store.Reader.
func (d *DB) Due(ctx context.Context, f store.Filter) ([]store.DueRule, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	if s.none {
		return []store.DueRule{}, nil
	}
	p := d.period(&f)
	rs, err := d.rules(ctx)
	if err != nil {
		return nil, err
	}
	rs = slices.DeleteFunc(rs, func(r store.Rule) bool { return ms(r.Deadline) < p.hi })
	slices.SortStableFunc(rs, func(a, b store.Rule) int { return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.ID, b.ID)) })
	dueOK, err := d.symExists(ctx, "due")
	if err != nil {
		return nil, err
	}
	out := []store.DueRule{}
	for _, r := range rs {
		if s.rule != nil && !has(s.rule, r.ID) {
			continue
		}
		dr := store.DueRule{Rule: r, Entities: []string{}, Clients: []string{}}
		if dueOK {
			byDev := map[string]uint64{}
			ents := map[string]bool{}
			err := d.rollup(ctx, queryFam, and("verdict = 'due'", "rule = "+quote(r.ID), s.queryCond()), p, func(key []string, _ int64, v []uint64) error {
				byDev[key[0]] += v[0]
				dr.Queries += v[0]
				dr.Last = maxTime(dr.Last, tm(int64(v[2])))
				ents[key[3]] = true
				return nil
			})
			if err != nil {
				return nil, err
			}
			type cl struct {
				dev string
				n   uint64
			}
			var cls []cl
			for dv, n := range byDev {
				cls = append(cls, cl{dv, n})
			}
			slices.SortFunc(cls, func(a, b cl) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.dev, b.dev)) })
			dr.NClients = len(cls)
			for i, c := range cls {
				if i == 20 {
					break
				}
				dr.Clients = append(dr.Clients, c.dev)
			}
			dr.Entities = setList(ents)
			var apps uint64
			if err := d.conn.QueryRow(ctx, "SELECT count() FROM ("+fmt.Sprintf(inventory, d.t("inventory_v"))+") WHERE i_rule = ? AND i_verdict = 'due'", r.ID).Scan(&apps); err != nil {
				return nil, err
			}
			dr.Apps = int(apps)
		}
		out = append(out, dr)
	}
	lim, off := limit(&f)
	if off >= len(out) {
		return []store.DueRule{}, nil
	}
	return out[off:min(len(out), off+lim)], nil
}
