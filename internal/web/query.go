package web

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// period is the time range a page shows.
type period struct {
	Name         string // day, week, month, quarter, all, or custom
	Since, Until time.Time
	// Latest says Until was set from the newest data rather than the
	// clock, because the store holds nothing recent.
	Latest bool
}

var periods = []struct {
	name string
	d    time.Duration
}{
	{"day", 24 * time.Hour}, {"week", 7 * 24 * time.Hour}, {"month", 30 * 24 * time.Hour},
	{"quarter", 92 * 24 * time.Hour}, {"all", 0},
}

// Values a query string may repeat, and how many.
const (
	maxValues  = 32
	maxValue   = 256
	pageLimit  = 200 // rows a page shows at once
	queryLimit = 2000
)

// filterError is a bad query parameter: a 400 naming it.
type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

func badParam(format string, a ...any) error { return &filterError{fmt.Sprintf(format, a...)} }

// parseTime reads a date (YYYY-MM-DD, UTC midnight) or an RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// filter reads the common query parameters into a store filter:
// period (day, week, month, quarter, all) or since/until; device, group,
// entity, list, name, rule, verdict (repeatable); concern; limit, offset.
// def is the period when none is given.
func (s *Server) filter(ctx context.Context, q url.Values, def string, maxLimit int) (store.Filter, period, error) {
	var f store.Filter
	for k, vs := range q {
		if len(vs) > maxValues {
			return f, period{}, badParam("%s: more than %d values", k, maxValues)
		}
		for _, v := range vs {
			if len(v) > maxValue {
				return f, period{}, badParam("%s: value longer than %d bytes", k, maxValue)
			}
		}
	}
	list := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f.Devices, f.Groups, f.Entities = list("device"), list("group"), list("entity")
	f.Lists, f.Names, f.Rules, f.Verdicts = list("list"), list("name"), list("rule"), list("verdict")
	for _, v := range f.Verdicts {
		switch v {
		case "allow", "monitor", "due", "block":
		default:
			return f, period{}, badParam("verdict %q: want allow, monitor, due or block", v)
		}
	}
	switch q.Get("concern") {
	case "", "0", "false":
	case "1", "true":
		f.Concern = true
	default:
		return f, period{}, badParam("concern: want 1 or 0")
	}
	num := func(k string, def, hi int) (int, error) {
		v := q.Get(k)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, badParam("%s: want a number of 0 or more", k)
		}
		return min(n, hi), nil
	}
	var err error
	if f.Limit, err = num("limit", min(store.DefaultLimit, maxLimit), maxLimit); err != nil {
		return f, period{}, err
	}
	if f.Limit == 0 {
		f.Limit = min(store.DefaultLimit, maxLimit)
	}
	if f.Offset, err = num("offset", 0, 1_000_000); err != nil {
		return f, period{}, err
	}
	p, err := s.period(ctx, q, def)
	if err != nil {
		return f, period{}, err
	}
	f.Since, f.Until = p.Since, p.Until
	return f, p, nil
}

// period resolves the period parameters. Without until, periods end at
// the next hour after the newest data when the store holds nothing from
// the last day (a store filled from an old capture still shows
// something), else now.
func (s *Server) period(ctx context.Context, q url.Values, def string) (period, error) {
	p := period{Name: q.Get("period")}
	if p.Name == "" {
		p.Name = def
	}
	now := s.now().UTC()
	if v := q.Get("until"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return p, badParam("until: want YYYY-MM-DD or an RFC 3339 time")
		}
		p.Until = t
	} else {
		p.Until = now.Truncate(time.Hour).Add(time.Hour)
		if inf, err := s.info(ctx); err == nil && !inf.Last.IsZero() && inf.Last.Before(now.Add(-24*time.Hour)) {
			p.Until, p.Latest = inf.Last.UTC().Truncate(time.Hour).Add(time.Hour), true
		}
	}
	if v := q.Get("since"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return p, badParam("since: want YYYY-MM-DD or an RFC 3339 time")
		}
		if !t.Before(p.Until) {
			return p, badParam("since must be before until")
		}
		p.Since, p.Name = t, "custom"
		return p, nil
	}
	for _, d := range periods {
		if d.name == p.Name {
			if d.d > 0 {
				p.Since = p.Until.Add(-d.d)
			}
			return p, nil
		}
	}
	return p, badParam("period %q: want day, week, month, quarter or all", p.Name)
}

// Params returns the query values that keep the page's selection when
// linking elsewhere (period and filters), without paging.
func keep(q url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"period", "since", "until", "device", "group", "entity", "list", "name", "rule", "verdict", "concern"} {
		if v, ok := q[k]; ok {
			out[k] = v
		}
	}
	return out
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
