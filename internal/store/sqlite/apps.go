package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
)

// Audits lists app audits newest first; see store.Reader. The filter's
// period, devices, entities and lists apply.
func (d *DB) Audits(ctx context.Context, f store.Filter) ([]store.AuditSummary, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	if s.none {
		return []store.AuditSummary{}, nil
	}
	p := d.period(&f)
	conds := []string{"a.t >= ? AND a.t < ?"}
	if s.dev != nil {
		conds = append(conds, inList("a.dev", s.dev))
	}
	if s.grpDev != nil {
		conds = append(conds, inList("a.dev", s.grpDev))
	}
	if s.ent != nil {
		conds = append(conds, "("+inList("a.ent", s.ent)+" OR a.id IN (SELECT audit FROM finding WHERE "+inList("ent", s.ent)+"))")
	}
	if len(f.Verdicts) > 0 {
		conds = append(conds, "a.verdict IN ('"+strings.Join(quoteAll(f.Verdicts), "','")+"')")
	}
	lim, off := limit(&f)
	out := []store.AuditSummary{}
	err = d.query(ctx, "SELECT a.id, a.t, coalesce(v.key, ''), a.app, a.version, a.label, coalesce(e.key, ''), a.verdict, a.nfind, a.sev FROM audit a "+
		"LEFT JOIN dev v ON v.id = a.dev LEFT JOIN ent e ON e.id = a.ent WHERE "+strings.Join(conds, " AND ")+
		" ORDER BY a.t DESC, a.id DESC LIMIT ? OFFSET ?", func(r *sql.Rows) error {
		var a store.AuditSummary
		var t int64
		var sev string
		if err := r.Scan(&a.ID, &t, &a.Device, &a.App, &a.Version, &a.Label, &a.Entity, &a.Verdict, &a.Findings, &sev); err != nil {
			return err
		}
		a.Time = tm(t)
		a.BySeverity = parseSev(sev)
		out = append(out, a)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// quoteAll doubles single quotes for an SQL string literal.
func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, "'", "''")
	}
	return out
}

func parseSev(s string) map[string]int {
	m := map[string]int{}
	for _, p := range splitList(s) {
		k, v, ok := strings.Cut(p, ":")
		if n, err := strconv.Atoi(v); ok && err == nil {
			m[k] = n
		}
	}
	return m
}

// Audit returns one audit with its findings; see store.Reader.
func (d *DB) Audit(ctx context.Context, id int64) (*store.Audit, error) {
	a := &store.Audit{ID: id, Findings: []store.Finding{}}
	var t int64
	err := d.r.QueryRowContext(ctx, "SELECT a.t, coalesce(v.key, ''), a.app, a.version, a.label, a.sha256, a.signer, coalesce(e.key, ''), a.verdict, a.source "+
		"FROM audit a LEFT JOIN dev v ON v.id = a.dev LEFT JOIN ent e ON e.id = a.ent WHERE a.id = ?", id).
		Scan(&t, &a.Device, &a.App, &a.Version, &a.Label, &a.SHA256, &a.Signer, &a.Entity, &a.Verdict, &a.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	a.Time = tm(t)
	err = d.query(ctx, "SELECT f.rule, f.severity, f.category, f.title, coalesce(e.key, ''), f.evidence FROM finding f LEFT JOIN ent e ON e.id = f.ent WHERE f.audit = ? ORDER BY f.seq",
		func(r *sql.Rows) error {
			var f store.Finding
			var ev string
			if err := r.Scan(&f.Rule, &f.Severity, &f.Category, &f.Title, &f.Entity, &ev); err != nil {
				return err
			}
			if ev != "" {
				f.Evidence = strings.Split(ev, "\n")
			}
			a.Findings = append(a.Findings, f)
			return nil
		}, id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Inventory lists inventory rows, most recently seen first; see
// store.Reader. Period, devices, groups, entities, lists, rules and
// verdicts apply.
func (d *DB) Inventory(ctx context.Context, f store.Filter) ([]store.InventoryItem, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	if s.none {
		return []store.InventoryItem{}, nil
	}
	p := d.period(&f)
	conds := []string{"i.seen >= ? AND i.seen < ?"}
	if s.dev != nil {
		conds = append(conds, inList("i.dev", s.dev))
	}
	if s.grp != nil {
		conds = append(conds, "("+inList("i.grp", s.grp)+" OR "+inList("i.dev", s.grpDev)+")")
	}
	if s.ent != nil {
		conds = append(conds, inList("i.ent", s.ent))
	}
	if s.concern {
		conds = append(conds, "i.ent != 0")
	}
	if s.rule != nil {
		conds = append(conds, inList("i.rule", s.rule))
	}
	if s.verdict != nil {
		conds = append(conds, inList("i.verdict", s.verdict))
	}
	lim, off := limit(&f)
	out := []store.InventoryItem{}
	err = d.query(ctx, "SELECT v.key, v.owner, coalesce(g.s, ''), a.s, i.version, coalesce(e.key, ''), coalesce(vd.s, ''), coalesce(r.s, ''), i.seen, coalesce(src.s, '') "+
		"FROM inventory i JOIN dev v ON v.id = i.dev JOIN sym a ON a.id = i.app LEFT JOIN sym g ON g.id = i.grp LEFT JOIN ent e ON e.id = i.ent "+
		"LEFT JOIN sym vd ON vd.id = i.verdict LEFT JOIN sym r ON r.id = i.rule LEFT JOIN sym src ON src.id = i.source WHERE "+
		strings.Join(conds, " AND ")+" ORDER BY i.seen DESC, v.key, a.s LIMIT ? OFFSET ?", func(r *sql.Rows) error {
		var it store.InventoryItem
		var seen int64
		if err := r.Scan(&it.Device, &it.Owner, &it.Group, &it.App, &it.Version, &it.Entity, &it.Verdict, &it.Rule, &seen, &it.Source); err != nil {
			return err
		}
		it.Seen = tm(seen)
		out = append(out, it)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// Search finds devices, names, entities, lists, rules and apps; see
// store.Reader.
func (d *DB) Search(ctx context.Context, q string, limit int) ([]store.Hit, error) {
	q = strings.TrimSpace(strings.ToLower(q))
	out := []store.Hit{}
	if q == "" {
		return out, nil
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
	add := func(kind, sqlq string, args ...any) error {
		if len(out) >= limit {
			return nil
		}
		return d.query(ctx, sqlq, func(r *sql.Rows) error {
			h := store.Hit{Kind: kind}
			if err := r.Scan(&h.Key, &h.Label, &h.Detail); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		}, append(args, limit-len(out))...)
	}
	esc := ` ESCAPE '\'`
	steps := []func() error{
		func() error {
			return add("entity", "SELECT key, name, jurisdiction FROM ent WHERE lower(key) LIKE ?"+esc+" OR lower(name) LIKE ?"+esc+" ORDER BY key LIMIT ?", like, like)
		},
		func() error {
			return add("device", "SELECT key, name, trim(grp || ' ' || mac || ' ' || owner) FROM dev WHERE lower(key) LIKE ?"+esc+" OR lower(name) LIKE ?"+esc+
				" OR lower(mac) LIKE ?"+esc+" OR lower(owner) LIKE ?"+esc+" ORDER BY key LIMIT ?", like, like, like, like)
		},
		func() error {
			return add("list", "WITH RECURSIVE l(item, rest) AS (SELECT '', lists || ',' FROM ent WHERE lists != '' UNION ALL "+
				"SELECT substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM l WHERE rest != '') "+
				"SELECT item, item, count(*) || ' entities' FROM l WHERE item != '' AND lower(item) LIKE ?"+esc+" GROUP BY item ORDER BY item LIMIT ?", like)
		},
		func() error {
			return add("rule", "SELECT key, key, trim(action || ' ' || basis) FROM rule WHERE lower(key) LIKE ?"+esc+" OR lower(basis) LIKE ?"+esc+" ORDER BY key LIMIT ?", like, like)
		},
		func() error {
			return add("app", "SELECT app, max(label), count(*) || ' audits' FROM audit WHERE lower(app) LIKE ?"+esc+" OR lower(label) LIKE ?"+esc+" GROUP BY app ORDER BY app LIMIT ?", like, like)
		},
		func() error {
			// Names: a suffix at a label boundary through the reversed
			// index first (fast), then a bounded substring scan.
			r := reverse(q)
			if err := add("name", "SELECT name, name, '' FROM name WHERE name = ? OR (rname >= ? AND rname < ?) ORDER BY length(name), name LIMIT ?", q, r+".", r+"/"); err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, h := range out {
				if h.Kind == "name" {
					seen[h.Key] = true
				}
			}
			var more []store.Hit
			err := d.query(ctx, "SELECT name FROM name WHERE instr(name, ?) > 0 LIMIT ?", func(rw *sql.Rows) error {
				var n string
				if err := rw.Scan(&n); err != nil {
					return err
				}
				if !seen[n] {
					more = append(more, store.Hit{Kind: "name", Key: n, Label: n})
				}
				return nil
			}, q, max(limit-len(out), 0))
			out = append(out, more...)
			return err
		},
	}
	for _, st := range steps {
		if err := st(); err != nil {
			return nil, err
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
