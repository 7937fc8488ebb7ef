package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

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

// Audits lists app audits newest first; see store.Reader. The period,
// devices, groups, entities and lists and verdicts apply.
func (d *DB) Audits(ctx context.Context, f store.Filter) ([]store.AuditSummary, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	out := []store.AuditSummary{}
	if s.none {
		return out, nil
	}
	p := d.period(&f)
	c := []string{"t >= ? AND t < ?"}
	if s.dev != nil {
		c = append(c, inList("dev", s.dev))
	}
	if s.grpDev != nil {
		c = append(c, inList("dev", s.grpDev))
	}
	if s.ent != nil {
		c = append(c, inList("ent", s.ent)+" OR arrayExists(x -> "+inList("x", s.ent)+", splitByChar(',', fent))")
	}
	if len(f.Verdicts) > 0 {
		c = append(c, inList("verdict", f.Verdicts))
	}
	lim, off := limit(&f)
	err = d.query(ctx, "SELECT id, t, dev, app, version, label, ent, verdict, nfind, sev FROM "+d.t("audit")+" WHERE "+and(c...)+
		" ORDER BY t DESC, id DESC LIMIT ? OFFSET ?", func(r driver.Rows) error {
		var a store.AuditSummary
		var t int64
		var n uint32
		var sev string
		if err := r.Scan(&a.ID, &t, &a.Device, &a.App, &a.Version, &a.Label, &a.Entity, &a.Verdict, &n, &sev); err != nil {
			return err
		}
		a.Time, a.Findings, a.BySeverity = tm(t), int(n), parseSev(sev)
		out = append(out, a)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// Audit returns one audit with its findings; see store.Reader.
func (d *DB) Audit(ctx context.Context, id int64) (*store.Audit, error) {
	var a *store.Audit
	err := d.query(ctx, "SELECT t, dev, app, version, label, sha256, signer, ent, verdict, source FROM "+d.t("audit")+" WHERE id = ? LIMIT 1",
		func(r driver.Rows) error {
			a = &store.Audit{ID: id, Findings: []store.Finding{}}
			var t int64
			if err := r.Scan(&t, &a.Device, &a.App, &a.Version, &a.Label, &a.SHA256, &a.Signer, &a.Entity, &a.Verdict, &a.Source); err != nil {
				return err
			}
			a.Time = tm(t)
			return nil
		}, id)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, store.ErrNotFound
	}
	err = d.query(ctx, "SELECT rule, severity, category, title, ent, evidence FROM "+d.t("finding")+" WHERE audit = ? ORDER BY seq", func(r driver.Rows) error {
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

// inventory is the inventory folded as the SQLite store's upserts fold
// it: per device and app, the values of the latest sighting.
const inventory = "SELECT dev AS i_dev, app AS i_app, argMax(grp, tuple(seen, seq)) AS i_grp, argMax(version, tuple(seen, seq)) AS i_version, " +
	"argMax(ent, tuple(seen, seq)) AS i_ent, argMax(verdict, tuple(seen, seq)) AS i_verdict, argMax(rule, tuple(seen, seq)) AS i_rule, " +
	"max(seen) AS i_seen, argMax(source, tuple(seen, seq)) AS i_source FROM %s GROUP BY dev, app"

// Inventory lists inventory rows, most recently seen first; see
// store.Reader.
func (d *DB) Inventory(ctx context.Context, f store.Filter) ([]store.InventoryItem, error) {
	s, err := d.resolve(ctx, &f)
	if err != nil {
		return nil, err
	}
	out := []store.InventoryItem{}
	if s.none {
		return out, nil
	}
	p := d.period(&f)
	c := []string{"i_seen >= ? AND i_seen < ?"}
	if s.dev != nil {
		c = append(c, inList("i_dev", s.dev))
	}
	if s.grp != nil {
		c = append(c, inList("i_grp", s.grp)+" OR "+inList("i_dev", s.grpDev))
	}
	if s.ent != nil {
		c = append(c, inList("i_ent", s.ent))
	}
	if s.concern {
		c = append(c, "i_ent != ''")
	}
	if s.rule != nil {
		c = append(c, inList("i_rule", s.rule))
	}
	if s.verdict != nil {
		c = append(c, inList("i_verdict", s.verdict))
	}
	lim, off := limit(&f)
	err = d.query(ctx, "SELECT i_dev, i_grp, i_app, i_version, i_ent, i_verdict, i_rule, i_seen, i_source FROM ("+fmt.Sprintf(inventory, d.t("inventory_v"))+") WHERE "+
		and(c...)+" ORDER BY i_seen DESC, i_dev, i_app LIMIT ? OFFSET ?", func(r driver.Rows) error {
		var it store.InventoryItem
		var seen int64
		if err := r.Scan(&it.Device, &it.Group, &it.App, &it.Version, &it.Entity, &it.Verdict, &it.Rule, &seen, &it.Source); err != nil {
			return err
		}
		it.Seen = tm(seen)
		out = append(out, it)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	if err != nil || len(out) == 0 {
		return out, err
	}
	var devs []string
	for _, it := range out {
		devs = append(devs, it.Device)
	}
	info, err := d.devices(ctx, devs)
	for i := range out {
		out[i].Owner = info[out[i].Device].Owner
	}
	return out, err
}

// Search finds devices, names, entities, lists, rules and apps; see
// store.Reader. The dimensions are small and folded at read time, so
// they are searched here; names are searched by the server.
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
	in := func(ss ...string) bool {
		for _, s := range ss {
			if strings.Contains(strings.ToLower(s), q) {
				return true
			}
		}
		return false
	}
	add := func(h store.Hit) bool {
		if len(out) >= limit {
			return false
		}
		out = append(out, h)
		return true
	}
	es, err := d.Entities(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if in(e.ID, e.Name) && !add(store.Hit{Kind: "entity", Key: e.ID, Label: e.Name, Detail: e.Jurisdiction}) {
			break
		}
	}
	devs, err := d.devices(ctx, nil)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(devs))
	for k := range devs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dv := devs[k]
		if in(dv.ID, dv.Name, dv.MAC, dv.Owner) && !add(store.Hit{Kind: "device", Key: dv.ID, Label: dv.Name, Detail: strings.TrimSpace(dv.Group + " " + dv.MAC + " " + dv.Owner)}) {
			break
		}
	}
	lists := map[string]int{}
	for _, e := range es {
		for _, l := range e.Lists {
			lists[l]++
		}
	}
	ls := make([]string, 0, len(lists))
	for l := range lists {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	for _, l := range ls {
		if l != "" && in(l) && !add(store.Hit{Kind: "list", Key: l, Label: l, Detail: fmt.Sprintf("%d entities", lists[l])}) {
			break
		}
	}
	rs, err := d.rules(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if in(r.ID, r.Basis) && !add(store.Hit{Kind: "rule", Key: r.ID, Label: r.ID, Detail: strings.TrimSpace(r.Action + " " + r.Basis)}) {
			break
		}
	}
	if len(out) < limit {
		err := d.query(ctx, "SELECT app, max(label), count() FROM "+d.t("audit")+" WHERE positionCaseInsensitive(app, ?) > 0 OR positionCaseInsensitive(label, ?) > 0 GROUP BY app ORDER BY app LIMIT ?",
			func(r driver.Rows) error {
				var h store.Hit
				var n uint64
				if err := r.Scan(&h.Key, &h.Label, &n); err != nil {
					return err
				}
				h.Kind, h.Detail = "app", fmt.Sprintf("%d audits", n)
				add(h)
				return nil
			}, q, q, limit-len(out))
		if err != nil {
			return nil, err
		}
	}
	if len(out) < limit {
		// Names: a suffix at a label boundary first, then a substring.
		r := reverse(q)
		seen := map[string]bool{}
		err := d.query(ctx, "SELECT DISTINCT name FROM "+d.t("names")+" WHERE name = ? OR (rname >= ? AND rname < ?) ORDER BY length(name), name LIMIT ?",
			func(rw driver.Rows) error {
				var n string
				if err := rw.Scan(&n); err != nil {
					return err
				}
				seen[n] = true
				add(store.Hit{Kind: "name", Key: n, Label: n})
				return nil
			}, q, r+".", r+"/", limit-len(out))
		if err != nil {
			return nil, err
		}
		var more []store.Hit
		err = d.query(ctx, "SELECT DISTINCT name FROM "+d.t("names")+" WHERE position(name, ?) > 0 ORDER BY name LIMIT ?", func(rw driver.Rows) error {
			var n string
			if err := rw.Scan(&n); err != nil {
				return err
			}
			if !seen[n] {
				more = append(more, store.Hit{Kind: "name", Key: n, Label: n})
			}
			return nil
		}, q, max(limit-len(out), 0))
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
