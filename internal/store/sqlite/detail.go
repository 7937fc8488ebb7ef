package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// maxDecode bounds the detail rows one read decodes, so that a rare
// selection over a long period answers in bounded time (with fewer rows).
const maxDecode = 3_000_000

// segScan walks the segments of table ("flow" or "query") newest hour
// first, within p and the selection, calling fn for each. fn returns false
// to stop after the current hour.
func (d *DB) segScan(ctx context.Context, table string, p period, s *sel, fn func(dev, h int64, data []byte) bool) error {
	segTable := table + "_seg"
	devs := s.dev
	if s.grpDev != nil && table == "flow" {
		if devs == nil {
			devs = s.grpDev
		} else {
			devs = intersect(devs, s.grpDev)
		}
	}
	stop := false
	each := func(r *sql.Rows) error {
		if stop {
			return errStop
		}
		var dev, h int64
		var data []byte
		if err := r.Scan(&dev, &h, &data); err != nil {
			return err
		}
		if !fn(dev, h, data) {
			stop = true
		}
		return nil
	}
	if devs != nil {
		if len(devs) == 0 {
			return nil
		}
		var minH sql.NullInt64
		if err := d.r.QueryRowContext(ctx, "SELECT min(h) FROM "+segTable+" WHERE "+inList("dev", devs)).Scan(&minH); err != nil {
			return fmt.Errorf("sqlite: %s: %w", d.path, err)
		}
		if !minH.Valid {
			return nil
		}
		lo := max(p.hlo, minH.Int64)
		// A week at a time, so that stopping early reads little.
		for hi := p.hhi; hi > lo && !stop; hi -= 24 * 7 {
			err := d.query(ctx, "SELECT dev, h, data FROM "+segTable+" WHERE "+inList("dev", devs)+" AND h >= ? AND h < ? ORDER BY h DESC, id", each, max(hi-24*7, lo), hi)
			if err != nil {
				return stopOK(err)
			}
		}
		return nil
	}
	// Candidate (hour, device) pairs from the hourly rollup when the
	// selection narrows rows; all segments of each hour otherwise.
	var cond string
	if table == "flow" {
		cond = s.flowCond()
	} else {
		cond = s.queryCond()
	}
	var minH sql.NullInt64
	if err := d.r.QueryRowContext(ctx, "SELECT min(h) FROM "+segTable).Scan(&minH); err != nil {
		return fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	if !minH.Valid {
		return nil
	}
	lo := max(p.hlo, minH.Int64)
	// scan reads the segments of hours [hlo, hhi), newest first.
	scan := func(hlo, hhi int64) error {
		if cond == "" {
			return d.query(ctx, "SELECT dev, h, data FROM "+segTable+" WHERE h >= ? AND h < ? ORDER BY h DESC, id", each, hlo, hhi)
		}
		cands := map[int64][]int64{}
		var hours []int64
		err := d.query(ctx, "SELECT DISTINCT h, dev FROM "+table+"_h WHERE h >= ? AND h < ? AND ("+cond+")", func(r *sql.Rows) error {
			var h, dev int64
			if err := r.Scan(&h, &dev); err != nil {
				return err
			}
			if cands[h] == nil {
				hours = append(hours, h)
			}
			cands[h] = append(cands[h], dev)
			return nil
		}, hlo, hhi)
		if err != nil {
			return err
		}
		slices.SortFunc(hours, func(a, b int64) int { return cmp.Compare(b, a) })
		for _, h := range hours {
			if stop {
				break
			}
			if err := d.query(ctx, "SELECT dev, h, data FROM "+segTable+" WHERE h = ? AND "+inList("dev", cands[h])+" ORDER BY id", each, h); err != nil {
				return err
			}
		}
		return nil
	}
	if s.name != nil {
		// A name selection reads only the hours the name was seen in,
		// and of a name few devices saw, only those devices' rows.
		hours := map[int64][]int64{} // day -> hours, newest first
		devs := map[int64][]int64{}  // day -> devices, when few
		dlo, dhi := floorDiv(lo, 24), floorDiv(p.hhi+23, 24)
		err := d.query(ctx, "SELECT d, hours FROM name_day WHERE "+inList("name", s.name)+" AND d >= ? AND d < ?", func(r *sql.Rows) error {
			var day, bits int64
			if err := r.Scan(&day, &bits); err != nil {
				return err
			}
			for i := int64(23); i >= 0; i-- {
				if h := day*24 + i; bits&(1<<i) != 0 && h >= lo && h < p.hhi && !slices.Contains(hours[day], h) {
					hours[day] = append(hours[day], h)
				}
			}
			return nil
		}, dlo, dhi)
		if err != nil {
			return err
		}
		perName := map[[2]int64]int{}
		many := map[int64]bool{}
		err = d.query(ctx, "SELECT d, name, dev FROM name_dev WHERE "+inList("name", s.name)+" AND d >= ? AND d < ?", func(r *sql.Rows) error {
			var day, name, dev int64
			if err := r.Scan(&day, &name, &dev); err != nil {
				return err
			}
			if perName[[2]int64{day, name}]++; perName[[2]int64{day, name}] >= nameDevs {
				many[day] = true
			}
			if !slices.Contains(devs[day], dev) {
				devs[day] = append(devs[day], dev)
			}
			return nil
		}, dlo, dhi)
		if err != nil {
			return err
		}
		var days []int64
		for day := range hours {
			days = append(days, day)
		}
		slices.SortFunc(days, func(a, b int64) int { return cmp.Compare(b, a) })
		for _, day := range days {
			if stop {
				break
			}
			hs := hours[day]
			slices.SortFunc(hs, func(a, b int64) int { return cmp.Compare(b, a) })
			if ds := devs[day]; len(ds) > 0 && !many[day] {
				err := d.query(ctx, "SELECT dev, h, data FROM "+segTable+" WHERE "+inList("dev", ds)+" AND h >= ? AND h <= ? ORDER BY h DESC, id",
					each, hs[len(hs)-1], hs[0])
				if err != nil {
					return stopOK(err)
				}
				continue
			}
			for _, h := range hs {
				if stop {
					break
				}
				if err := scan(h, h+1); err != nil {
					return stopOK(err)
				}
			}
		}
		return nil
	}
	// A day at a time, so that stopping early reads little.
	for dayHi := p.hhi; dayHi > lo && !stop; {
		dayLo := max(floorDiv(dayHi-1, 24)*24, lo)
		if err := scan(dayLo, dayHi); err != nil {
			return stopOK(err)
		}
		dayHi = dayLo
	}
	return nil
}

var errStop = errors.New("stop")

func stopOK(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func intersect(a, b []int64) []int64 {
	out := []int64{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *sel) flowMatch(r *flowRec) bool {
	return has(s.ent, r.ent) && (!s.concern || r.ent != 0) && has(s.name, r.name) && has(s.rule, r.rule) && has(s.verdict, r.verdict)
}

func (s *sel) queryMatch(dev int64, q *queryRec) bool {
	return has(s.ent, q.ent) && (!s.concern || q.ent != 0) && has(s.name, q.name) && has(s.rule, q.rule) &&
		has(s.verdict, q.verdict) && (s.grp == nil || slices.Contains(s.grp, q.grp) || slices.Contains(s.grpDev, dev))
}

// segRows walks the rows of one detail table's segments.
type segRows[R any] struct {
	table  string // "flow" or "query"
	owner  string // what a segment's dev is: device or client
	decode func(data []byte, base int64, fn func(*R) bool) error
	at     func(r *R) int64 // the time rows are listed by, newest first
	// keep says whether a row of dev is in the period and the selection.
	keep func(p period, s *sel, dev int64, r *R) bool
	// ids returns a row's entity and name ids, and appends its symbol ids
	// to sym.
	ids func(r *R, sym []int64) (ent, name int64, syms []int64)
}

var (
	flowRows = segRows[flowRec]{table: "flow", owner: "device", decode: decodeFlows,
		at: func(r *flowRec) int64 { return r.last },
		keep: func(p period, s *sel, _ int64, r *flowRec) bool {
			return r.last >= p.lo && r.first < p.hi && s.flowMatch(r)
		},
		ids: func(r *flowRec, sym []int64) (int64, int64, []int64) {
			return r.ent, r.name, append(sym, r.role, r.host, r.hc, r.verdict, r.rule, r.source, r.grp, r.proto)
		}}
	queryRows = segRows[queryRec]{table: "query", owner: "client", decode: decodeQueries,
		at: func(q *queryRec) int64 { return q.t },
		keep: func(p period, s *sel, dev int64, q *queryRec) bool {
			return q.t >= p.lo && q.t < p.hi && s.queryMatch(dev, q)
		},
		ids: func(q *queryRec, sym []int64) (int64, int64, []int64) {
			return q.ent, q.name, append(sym, q.verdict, q.rule, q.reason, q.grp, q.proto)
		}}
)

// each calls fn for every row of the segments segScan selects, newest
// hour first. Before each segment next (when not nil) may stop the walk;
// it stops too once *decoded, counted across calls, reaches limit.
func (rs segRows[R]) each(ctx context.Context, d *DB, p period, s *sel, decoded *int, limit int, next func(h int64) bool, fn func(dev, h int64, r *R)) error {
	var derr error
	err := d.segScan(ctx, rs.table, p, s, func(dev, h int64, data []byte) bool {
		if next != nil && !next(h) {
			return false
		}
		err := rs.decode(data, h*msHour, func(r *R) bool {
			*decoded++
			fn(dev, h, r)
			return true
		})
		if err != nil {
			derr = fmt.Errorf("sqlite: %s: %s segment of %s %d hour %d: %w", d.path, rs.table, rs.owner, dev, h, err)
			return false
		}
		return *decoded < limit
	})
	if err == nil {
		err = derr
	}
	return err
}

// hit is a detail row and the device and hour of its segment.
type hit[R any] struct {
	dev, h int64
	r      R
}

// hits collects at least want rows in p and s (all of the last hour
// touched), newest first.
func (rs segRows[R]) hits(ctx context.Context, d *DB, p period, s *sel, want int) ([]hit[R], error) {
	var hits []hit[R]
	decoded, curH := 0, int64(0)
	err := rs.each(ctx, d, p, s, &decoded, maxDecode, func(h int64) bool {
		if len(hits) >= want && h != curH {
			return false
		}
		curH = h
		return true
	}, func(dev, h int64, r *R) {
		if rs.keep(p, s, dev, r) {
			hits = append(hits, hit[R]{dev, h, *r})
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(hits, func(a, b hit[R]) int { return cmp.Compare(rs.at(&b.r), rs.at(&a.r)) })
	return hits, nil
}

// page answers Flows and Queries: the filter's page of rows, newest first,
// and the names of their dictionary ids, loaded.
func (rs segRows[R]) page(ctx context.Context, d *DB, f *store.Filter) ([]hit[R], *names, error) {
	s, err := d.resolve(ctx, f)
	if err != nil || s.none {
		return nil, nil, err
	}
	p := d.period(f)
	lim, off := limit(f)
	hits, err := rs.hits(ctx, d, p, s, off+lim)
	if err != nil || off >= len(hits) {
		return nil, nil, err
	}
	hits = hits[off:min(len(hits), off+lim)]
	nm := d.newNames(ctx)
	var devIDs, entIDs, nameIDs, symIDs []int64
	for i := range hits {
		ent, name, syms := rs.ids(&hits[i].r, symIDs)
		devIDs, entIDs, nameIDs, symIDs = append(devIDs, hits[i].dev), append(entIDs, ent), append(nameIDs, name), syms
	}
	return hits, nm, nm.loadAll(devIDs, entIDs, nameIDs, symIDs)
}

// Flows lists flow rows newest first; see store.Reader.
func (d *DB) Flows(ctx context.Context, f store.Filter) ([]store.Flow, error) {
	hits, nm, err := flowRows.page(ctx, d, &f)
	if err != nil {
		return nil, err
	}
	out := make([]store.Flow, len(hits))
	for i, h := range hits {
		r := &h.r
		peer := r.peerText
		if r.peer.IsValid() {
			peer = r.peer.String()
		}
		out[i] = store.Flow{Hour: time.UnixMilli(h.h * msHour).UTC(), First: tm(r.first), Last: tm(r.last),
			Device: nm.get("dev", h.dev), Group: nm.get("sym", r.grp), Proto: nm.get("sym", r.proto), Peer: peer, Port: r.port,
			Name: nm.get("name", r.name), Entity: nm.get("ent", r.ent), Role: nm.get("sym", r.role), Host: nm.get("sym", r.host),
			HostCountry: nm.get("sym", r.hc), Verdict: nm.get("sym", r.verdict), Rule: nm.get("sym", r.rule), Source: nm.get("sym", r.source),
			Traffic: store.Traffic{BytesOut: r.bo, BytesIn: r.bi, PacketsOut: r.po, PacketsIn: r.pi, Flows: r.n}}
	}
	return out, nil
}

// Queries lists query rows newest first; see store.Reader.
func (d *DB) Queries(ctx context.Context, f store.Filter) ([]store.Query, error) {
	hits, nm, err := queryRows.page(ctx, d, &f)
	if err != nil {
		return nil, err
	}
	out := make([]store.Query, len(hits))
	for i, h := range hits {
		q := &h.r
		out[i] = store.Query{Time: tm(q.t), Client: nm.get("dev", h.dev), Group: nm.get("sym", q.grp), Proto: nm.get("sym", q.proto),
			Name: nm.get("name", q.name), Type: q.typ, RCode: q.rcode, Verdict: nm.get("sym", q.verdict), Rule: nm.get("sym", q.rule),
			Entity: nm.get("ent", q.ent), Reason: nm.get("sym", q.reason), Deadline: tm(q.deadline),
			Latency: time.Duration(q.latencyUS) * time.Microsecond, Cached: q.cached}
	}
	return out, nil
}

// Names lists names with their traffic and queries; see store.Reader.
// Without a device or name selection it lists the names of entities of
// concern only (the rollup of all names over months is too large to rank
// within the dashboard's time budget).
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
	type key struct{ name, ent int64 }
	agg := map[key]*store.NameCount{}
	get := func(k key) *store.NameCount {
		a := agg[k]
		if a == nil {
			a = &store.NameCount{}
			agg[k] = a
		}
		return a
	}
	if s.dev != nil || s.grpDev != nil || s.name != nil {
		blockID := d.symID(ctx, "block")
		decoded := 0
		devsOf := map[key]map[int64]bool{}
		addDev := func(k key, dev int64) {
			if devsOf[k] == nil {
				devsOf[k] = map[int64]bool{}
			}
			devsOf[k][dev] = true
		}
		err := flowRows.each(ctx, d, p, s, &decoded, maxDecode, nil, func(dev, _ int64, r *flowRec) {
			if r.name == 0 || !flowRows.keep(p, s, dev, r) {
				return
			}
			k := key{r.name, r.ent}
			a := get(k)
			a.Traffic.Add(store.Traffic{BytesOut: r.bo, BytesIn: r.bi, PacketsOut: r.po, PacketsIn: r.pi, Flows: r.n})
			a.Last = maxTime(a.Last, tm(r.last))
			addDev(k, dev)
		})
		if err != nil {
			return nil, err
		}
		err = queryRows.each(ctx, d, p, s, &decoded, 2*maxDecode, nil, func(dev, _ int64, q *queryRec) {
			if q.name == 0 || !queryRows.keep(p, s, dev, q) {
				return
			}
			k := key{q.name, q.ent}
			a := get(k)
			a.Queries++
			if q.verdict == blockID && blockID != 0 {
				a.Blocked++
			}
			a.Last = maxTime(a.Last, tm(q.t))
			addDev(k, dev)
		})
		if err != nil {
			return nil, err
		}
		for k, m := range devsOf {
			agg[k].Devices = len(m)
		}
	} else {
		cond := "ent != 0"
		if s.ent != nil {
			cond += " AND " + inList("ent", s.ent)
		}
		err := d.query(ctx, "SELECT name, ent, "+sums+", sum(q), sum(qb), max(last) FROM name_d WHERE d >= ? AND d < ? AND "+cond+" GROUP BY name, ent",
			func(r *sql.Rows) error {
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
	keys := make([]key, 0, len(agg))
	for k := range agg {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		x, y := agg[a], agg[b]
		return cmp.Or(cmp.Compare(y.BytesOut+y.BytesIn, x.BytesOut+x.BytesIn), cmp.Compare(y.Queries, x.Queries),
			cmp.Compare(a.name, b.name), cmp.Compare(a.ent, b.ent))
	})
	if off >= len(keys) {
		return []store.NameCount{}, nil
	}
	keys = keys[off:min(len(keys), off+lim)]
	nm := d.newNames(ctx)
	var nameIDs, entIDs []int64
	for _, k := range keys {
		nameIDs = append(nameIDs, k.name)
		entIDs = append(entIDs, k.ent)
	}
	if err := nm.load("name", nameIDs); err != nil {
		return nil, err
	}
	if err := nm.load("ent", entIDs); err != nil {
		return nil, err
	}
	out := make([]store.NameCount, len(keys))
	for i, k := range keys {
		out[i] = *agg[k]
		out[i].Name, out[i].Entity = nm.get("name", k.name), nm.get("ent", k.ent)
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
