package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
)

// Blocked counts blocked queries by rule and group; see store.Reader.
func (d *DB) Blocked(ctx context.Context, f store.Filter) ([]store.BlockedCount, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	blockID := d.symID(ctx, "block")
	if s.none || blockID == 0 {
		return []store.BlockedCount{}, nil
	}
	p := d.period(&f)
	cond := "verdict = " + itoa(blockID)
	if c := s.queryCond(); c != "" {
		cond += " AND " + c
	}
	type bagg struct {
		b    store.BlockedCount
		devs map[int64]bool
		ents map[int64]bool
	}
	aggs := map[[2]int64]*bagg{}
	err = d.rollup(ctx, queryFam, cond, p, func(key []int64, _ int64, v []uint64) error {
		k := [2]int64{key[2], key[1]} // rule, group
		a := aggs[k]
		if a == nil {
			a = &bagg{devs: map[int64]bool{}, ents: map[int64]bool{}}
			a.b.First = tm(int64(v[1]))
			aggs[k] = a
		}
		a.b.Queries += v[0]
		a.devs[key[0]] = true
		a.ents[key[3]] = true
		if f := tm(int64(v[1])); f.Before(a.b.First) {
			a.b.First = f
		}
		a.b.Last = maxTime(a.b.Last, tm(int64(v[2])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []store.BlockedCount
	var rules, grps []int64
	var ents []string
	for k, a := range aggs {
		a.b.Clients = len(a.devs)
		out = append(out, a.b)
		rules = append(rules, k[0])
		grps = append(grps, k[1])
		ents = append(ents, idList(a.ents))
	}
	nm := d.newNames(ctx)
	if err := nm.load("sym", append(slices.Clone(rules), grps...)); err != nil {
		return nil, err
	}
	if err := d.loadEntList(nm, ents); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Rule, out[i].Group = nm.get("sym", rules[i]), nm.get("sym", grps[i])
		out[i].Entities = nm.entList(ents[i])
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

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func parseID(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// loadEntList loads the entities of comma-separated id lists.
func (d *DB) loadEntList(nm *names, lists []string) error {
	var ids []int64
	for _, l := range lists {
		for _, s := range splitList(l) {
			if id, err := parseID(s); err == nil && id != 0 {
				ids = append(ids, id)
			}
		}
	}
	return nm.load("ent", ids)
}

func (n *names) entList(l string) []string {
	out := []string{}
	for _, s := range splitList(l) {
		if id, err := parseID(s); err == nil && id != 0 {
			out = append(out, n.get("ent", id))
		}
	}
	slices.Sort(out)
	return out
}

type ruleRow struct {
	store.Rule
	id int64 // sym id
}

// rules loads the rules with their symbol ids.
func (d *DB) rules(ctx context.Context, where string, args ...any) ([]ruleRow, error) {
	var out []ruleRow
	err := d.query(ctx, "SELECT coalesce(s.id, 0), r.key, r.action, r.basis, r.deadline, r.groups, r.entities, r.lists FROM rule r LEFT JOIN sym s ON s.s = r.key "+where,
		func(r *sql.Rows) error {
			var rr ruleRow
			var deadline int64
			var groups, ents, lists string
			if err := r.Scan(&rr.id, &rr.ID, &rr.Action, &rr.Basis, &deadline, &groups, &ents, &lists); err != nil {
				return err
			}
			rr.Deadline = tm(deadline)
			rr.Groups, rr.Entities, rr.Lists = splitList(groups), splitList(ents), splitList(lists)
			out = append(out, rr)
			return nil
		}, args...)
	return out, err
}

// Overdue lists clients that kept asking for blocked names after the
// rule's deadline; see store.Reader.
func (d *DB) Overdue(ctx context.Context, f store.Filter) ([]store.OverdueClient, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	blockID := d.symID(ctx, "block")
	if s.none || blockID == 0 {
		return []store.OverdueClient{}, nil
	}
	rs, err := d.rules(ctx, "WHERE r.deadline != 0")
	if err != nil {
		return nil, err
	}
	byID := map[int64]ruleRow{}
	var ids []int64
	for _, r := range rs {
		if r.id != 0 && has(s.rule, r.id) {
			byID[r.id] = r
			ids = append(ids, r.id)
		}
	}
	if len(ids) == 0 {
		return []store.OverdueClient{}, nil
	}
	p := d.period(&f)
	cond := "verdict = " + itoa(blockID) + " AND " + inList("rule", ids)
	if c := s.queryCond(); c != "" {
		cond += " AND " + c
	}
	type row struct {
		o              store.OverdueClient
		dev, grp, rule int64
		ents           string
	}
	var rows []row
	type oagg struct {
		x    row
		ents map[int64]bool
	}
	oaggs := map[[3]int64]*oagg{}
	err = d.rollup(ctx, queryFam, cond, p, func(key []int64, _ int64, v []uint64) error {
		rl := byID[key[2]]
		// Only what was asked after the deadline counts.
		if int64(v[2]) < rl.Deadline.UnixMilli() {
			return nil
		}
		k := [3]int64{key[0], key[1], key[2]}
		a := oaggs[k]
		if a == nil {
			a = &oagg{x: row{dev: key[0], grp: key[1], rule: key[2]}, ents: map[int64]bool{}}
			a.x.o.First = tm(max(int64(v[1]), rl.Deadline.UnixMilli()))
			a.x.o.Deadline = rl.Deadline
			oaggs[k] = a
		}
		a.x.o.Queries += v[0]
		a.ents[key[3]] = true
		if f := tm(max(int64(v[1]), rl.Deadline.UnixMilli())); f.Before(a.x.o.First) {
			a.x.o.First = f
		}
		a.x.o.Last = maxTime(a.x.o.Last, tm(int64(v[2])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range oaggs {
		a.x.ents = idList(a.ents)
		rows = append(rows, a.x)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(b.o.Queries, a.o.Queries), b.o.Last.Compare(a.o.Last), cmp.Compare(a.dev, b.dev), cmp.Compare(a.rule, b.rule))
	})
	lim, off := limit(&f)
	if off >= len(rows) {
		return []store.OverdueClient{}, nil
	}
	rows = rows[off:min(len(rows), off+lim)]
	nm := d.newNames(ctx)
	var devIDs, symIDs []int64
	var ents []string
	for _, x := range rows {
		devIDs = append(devIDs, x.dev)
		symIDs = append(symIDs, x.grp, x.rule)
		ents = append(ents, x.ents)
	}
	info, err := d.deviceInfo(ctx, devIDs)
	if err != nil {
		return nil, err
	}
	if err := nm.load("sym", symIDs); err != nil {
		return nil, err
	}
	if err := d.loadEntList(nm, ents); err != nil {
		return nil, err
	}
	out := make([]store.OverdueClient, len(rows))
	for i, x := range rows {
		o := x.o
		o.Client, o.Name = info[x.dev].ID, info[x.dev].Name
		o.Group, o.Rule, o.Entities = nm.get("sym", x.grp), nm.get("sym", x.rule), nm.entList(x.ents)
		// A few names, from the last hour the client was blocked.
		lastH := floorDiv(o.Last.UnixMilli(), msHour)
		sub := &sel{dev: []int64{x.dev}, rule: []int64{x.rule}, verdict: []int64{blockID}}
		hits, err := queryRows.hits(ctx, d, period{lo: lastH * msHour, hi: (lastH + 1) * msHour, hlo: lastH, hhi: lastH + 1}, sub, 50)
		if err != nil {
			return nil, err
		}
		seen := map[int64]bool{}
		var nameIDs []int64
		for _, h := range hits {
			if !seen[h.r.name] && len(nameIDs) < 5 {
				seen[h.r.name] = true
				nameIDs = append(nameIDs, h.r.name)
			}
		}
		if err := nm.load("name", nameIDs); err != nil {
			return nil, err
		}
		o.Names = []string{}
		for _, id := range nameIDs {
			o.Names = append(o.Names, nm.get("name", id))
		}
		out[i] = o
	}
	return out, nil
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
	rs, err := d.rules(ctx, "WHERE r.deadline >= ? ORDER BY r.deadline, r.key", p.hi)
	if err != nil {
		return nil, err
	}
	dueID := d.symID(ctx, "due")
	var out []store.DueRule
	for _, r := range rs {
		if s.rule != nil && !has(s.rule, r.id) {
			continue
		}
		dr := store.DueRule{Rule: r.Rule, Entities: []string{}, Clients: []string{}}
		if r.id != 0 && dueID != 0 {
			cond := "verdict = " + itoa(dueID) + " AND rule = " + itoa(r.id)
			if c := s.queryCond(); c != "" {
				cond += " AND " + c
			}
			type cl struct {
				dev int64
				n   uint64
			}
			var cls []cl
			entSet := map[string]bool{}
			byDev := map[int64]*cl{}
			err := d.rollup(ctx, queryFam, cond, p, func(key []int64, _ int64, v []uint64) error {
				c := byDev[key[0]]
				if c == nil {
					c = &cl{dev: key[0]}
					byDev[key[0]] = c
				}
				c.n += v[0]
				dr.Queries += v[0]
				dr.Last = maxTime(dr.Last, tm(int64(v[2])))
				entSet[strconv.FormatInt(key[3], 10)] = true
				return nil
			})
			if err != nil {
				return nil, err
			}
			for _, c := range byDev {
				cls = append(cls, *c)
			}
			slices.SortFunc(cls, func(a, b cl) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.dev, b.dev)) })
			dr.NClients = len(cls)
			var devIDs []int64
			for i, c := range cls {
				if i == 20 {
					break
				}
				devIDs = append(devIDs, c.dev)
			}
			info, err := d.deviceInfo(ctx, devIDs)
			if err != nil {
				return nil, err
			}
			for _, id := range devIDs {
				dr.Clients = append(dr.Clients, info[id].ID)
			}
			nm := d.newNames(ctx)
			var el []string
			for e := range entSet {
				el = append(el, e)
			}
			if err := d.loadEntList(nm, el); err != nil {
				return nil, err
			}
			dr.Entities = nm.entList(strings.Join(el, ","))
			if err := d.r.QueryRowContext(ctx, "SELECT count(*) FROM inventory WHERE rule = ? AND verdict = ?", r.id, dueID).Scan(&dr.Apps); err != nil {
				return nil, err
			}
		}
		out = append(out, dr)
	}
	lim, off := limit(&f)
	if off >= len(out) {
		return []store.DueRule{}, nil
	}
	return out[off:min(len(out), off+lim)], nil
}

// idList is a set of ids as a comma-separated list.
func idList(m map[int64]bool) string {
	var ids []string
	for id := range m {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}
