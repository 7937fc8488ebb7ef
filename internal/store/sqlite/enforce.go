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
	var out []store.BlockedCount
	var rules, grps []int64
	var ents []string
	err = d.query(ctx, "SELECT rule, grp, sum(n), count(DISTINCT dev), min(first), max(last), group_concat(DISTINCT ent) FROM ("+
		union("query", "rule, grp, dev, ent, n, first, last", cond, p)+") GROUP BY rule, grp",
		func(r *sql.Rows) error {
			var b store.BlockedCount
			var rule, grp, first, last int64
			var ent sql.NullString
			if err := r.Scan(&rule, &grp, &b.Queries, &b.Clients, &first, &last, &ent); err != nil {
				return err
			}
			b.First, b.Last = tm(first), tm(last)
			out = append(out, b)
			rules = append(rules, rule)
			grps = append(grps, grp)
			ents = append(ents, ent.String)
			return nil
		})
	if err != nil {
		return nil, err
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
	err = d.query(ctx, "SELECT dev, grp, rule, sum(n), min(first), max(last), group_concat(DISTINCT ent) FROM ("+
		union("query", "dev, grp, rule, ent, n, first, last", cond, p)+") GROUP BY dev, grp, rule",
		func(r *sql.Rows) error {
			var x row
			var first, last int64
			var ents sql.NullString
			if err := r.Scan(&x.dev, &x.grp, &x.rule, &x.o.Queries, &first, &last, &ents); err != nil {
				return err
			}
			rl := byID[x.rule]
			// Only what was asked after the deadline counts.
			if last < rl.Deadline.UnixMilli() {
				return nil
			}
			x.o.First, x.o.Last, x.o.Deadline, x.ents = tm(max(first, rl.Deadline.UnixMilli())), tm(last), rl.Deadline, ents.String
			rows = append(rows, x)
			return nil
		})
	if err != nil {
		return nil, err
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
		hits, err := d.queryHits(ctx, period{lo: lastH * msHour, hi: (lastH + 1) * msHour, hlo: lastH, hhi: lastH + 1}, sub, 50)
		if err != nil {
			return nil, err
		}
		seen := map[int64]bool{}
		var nameIDs []int64
		for _, h := range hits {
			if !seen[h.q.name] && len(nameIDs) < 5 {
				seen[h.q.name] = true
				nameIDs = append(nameIDs, h.q.name)
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
			err := d.query(ctx, "SELECT dev, sum(n), max(last), group_concat(DISTINCT ent) FROM ("+
				union("query", "dev, ent, n, last", cond, p)+") GROUP BY dev", func(rw *sql.Rows) error {
				var c cl
				var last int64
				var ents sql.NullString
				if err := rw.Scan(&c.dev, &c.n, &last, &ents); err != nil {
					return err
				}
				cls = append(cls, c)
				dr.Queries += c.n
				dr.Last = maxTime(dr.Last, tm(last))
				for _, e := range splitList(ents.String) {
					entSet[e] = true
				}
				return nil
			})
			if err != nil {
				return nil, err
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
