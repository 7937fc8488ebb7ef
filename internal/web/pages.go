package web

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/render/chart"
	"github.com/outflow-dev/outflow/internal/render/worldmap"
	"github.com/outflow-dev/outflow/internal/report/figure"
	"github.com/outflow-dev/outflow/internal/store"
)

func (s *Server) pageRoutes() []route {
	return []route{
		{"/devices", s.devicesPage},
		{"/devices/{id}", s.devicePage},
		{"/flows", listPage(s, "devices", "Flows", "flows", s.r.Flows)},
		{"/names", listPage(s, "devices", "Names", "names", s.r.Names)},
		{"/queries", listPage(s, "enforcement", "Queries", "queries", s.r.Queries)},
		{"/enforcement", s.enforcementPage},
		{"/apps", s.appsPage},
		{"/apps/{id}", s.auditPage},
		{"/compliance", s.compliancePage},
		{"/search", s.searchPage},
		{"/apps/uploads", s.uploadsPage},
		{"/apps/uploads/{id}", s.uploadPage},
		{"/policy", s.policyPage},
		{"/policy/history", s.historyPage},
		{"/policy/history/{id}", s.changePage},
	}
}

// pageFilter reads the filter of a page, answering a 400 page on error.
func (s *Server) pageFilter(w http.ResponseWriter, r *http.Request, v *view, def string) (store.Filter, bool) {
	s.entities(r.Context()) // warm the cache the templates read
	f, p, err := s.filter(r.Context(), r.URL.Query(), def, queryLimit)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return f, false
	}
	if r.URL.Query().Get("limit") == "" {
		f.Limit = pageLimit
	}
	v.P = p
	return f, true
}

// --- Overview ---

type overviewData struct {
	O         *store.Overview
	Trend     template.HTML
	Map       template.HTML
	MapView   string // owners or hosts
	HostBars  template.HTML
	Devices   []store.DeviceSummary
	Countries []countryRow
}

type countryRow struct {
	Code, Name string
	Entities   []string
	Devices    int
	store.Traffic
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "overview", "Overview")
	f, ok := s.pageFilter(w, r, v, "month")
	if !ok {
		return
	}
	// The API's default limit: the page and /api/overview share answers.
	f.Limit = min(f.Limit, store.DefaultLimit)
	df := f
	df.Limit, df.Offset, df.Concern = 8, 0, true
	var o *store.Overview
	var devs []store.DeviceSummary
	if err := both(
		func() (err error) { o, err = s.overview(r.Context(), f); return },
		func() (err error) { devs, err = s.devices(r.Context(), df); return },
	); err != nil {
		s.storeFail(w, r, err)
		return
	}
	d := &overviewData{O: o, Devices: devs, MapView: "owners"}
	if r.URL.Query().Get("map") == "hosts" {
		d.MapView = "hosts"
	}
	d.Trend = figure.Trend(o, s.entityName)
	vals := map[string]float64{}
	if d.MapView == "owners" {
		for _, a := range o.ByJurisdiction {
			if a.Country != "" {
				vals[strings.ToUpper(a.Country)] += float64(a.BytesOut)
				d.Countries = append(d.Countries, countryRow{Code: a.Country, Name: worldmap.Name(a.Country),
					Entities: a.Entities, Devices: a.Devices, Traffic: a.Traffic})
			}
		}
		links := map[string]string{}
		for _, a := range o.ByJurisdiction {
			if len(a.Entities) > 0 {
				q := keep(r.URL.Query())
				q["entity"] = a.Entities
				links[strings.ToUpper(a.Country)] = "/devices" + string(query(q))
			}
		}
		d.Map = figure.Map("Bytes sent, by the jurisdiction of the data's owners", vals, nil, func(cc string) string {
			return links[cc]
		})
	} else {
		var bars []chart.Bar
		for i, h := range o.ByHost {
			if h.Country != "" {
				vals[strings.ToUpper(h.Country)] += float64(h.BytesOut)
			}
			if i < 12 {
				name := h.Host
				if e, ok := s.entityIfKnown(h.Host); ok {
					name = e.Name
				}
				if h.Country != "" {
					name += " (" + strings.ToUpper(h.Country) + ")"
				}
				bars = append(bars, chart.Bar{Label: name, Value: float64(h.BytesOut), Text: render.Bytes(h.BytesOut), Color: chart.Colors[1]})
			}
		}
		d.Map = figure.Map("Bytes sent to entities of concern, by the country of the hosting network", vals, nil, nil)
		d.HostBars = chart.Bars("Bytes sent by hosting network", bars)
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "overview", v)
}

// entityName is an entity's display name, its id when the store has none.
func (s *Server) entityName(id string) string {
	if e, ok := s.entityIfKnown(id); ok && e.Name != "" {
		return e.Name
	}
	return id
}

func (s *Server) entityIfKnown(id string) (store.Entity, bool) {
	m, _ := s.entities(context.Background())
	e, ok := m[id]
	return e, ok
}

// --- Devices ---

func (s *Server) devicesPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "devices", "Devices")
	f, ok := s.pageFilter(w, r, v, "month")
	if !ok {
		return
	}
	devs, err := s.devices(r.Context(), f)
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	v.Data = pageOf(devs, f, r)
	s.render(w, r, http.StatusOK, "devices", v)
}

type deviceData struct {
	D      *store.DeviceDetail
	Alerts findings[store.Alert]
	Bypass findings[store.Bypass]
}

func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v := s.newView(r, "devices", "Device "+id)
	f, ok := s.pageFilter(w, r, v, "month")
	if !ok {
		return
	}
	f.Devices = nil
	var d *store.DeviceDetail
	var dd deviceData
	ff := f
	ff.Devices, ff.Entities, ff.Rules, ff.Limit, ff.Offset = []string{id}, nil, nil, 50, 0
	if err := both(
		func() (err error) { d, err = s.device(r.Context(), id, f); return },
		func() (err error) { dd.Alerts, dd.Bypass, err = s.pageFindings(r.Context(), ff, v.Q); return },
	); err != nil {
		s.storeFail(w, r, err)
		return
	}
	if d.Device.Name != "" {
		v.Title = d.Device.Name + " (" + id + ")"
	}
	dd.D = d
	v.Data = dd
	s.render(w, r, http.StatusOK, "device", v)
}

// rows is a page of a list with its paging links.
type rows[T any] struct {
	Items      []T
	Offset     int
	Prev, Next template.URL
	Filters    []chip
}

// chip is an active filter with the link that removes it.
type chip struct {
	Key, Value string
	Remove     template.URL
}

func pageOf[T any](items []T, f store.Filter, r *http.Request) rows[T] {
	q := r.URL.Query()
	out := rows[T]{Items: items, Offset: f.Offset}
	if f.Offset > 0 {
		out.Prev = query(q, "offset", strconv.Itoa(max(0, f.Offset-f.Limit)))
		if f.Offset-f.Limit <= 0 {
			out.Prev = query(q, "offset", "")
			if out.Prev == "" {
				out.Prev = "?"
			}
		}
	}
	if len(items) >= f.Limit && f.Limit > 0 {
		out.Next = query(q, "offset", strconv.Itoa(f.Offset+f.Limit))
	}
	for _, k := range []string{"device", "group", "entity", "list", "name", "rule", "verdict", "app"} {
		for _, val := range q[k] {
			rest := url.Values{}
			for kk, vv := range q {
				if kk == "offset" {
					continue
				}
				rest[kk] = vv
			}
			rest[k] = slices.DeleteFunc(slices.Clone(rest[k]), func(x string) bool { return x == val })
			if len(rest[k]) == 0 {
				delete(rest, k)
			}
			rm := query(rest)
			if rm == "" {
				rm = "?"
			}
			out.Filters = append(out.Filters, chip{Key: k, Value: val, Remove: rm})
		}
	}
	if concern := q.Get("concern"); concern == "1" || concern == "true" {
		out.Filters = append(out.Filters, chip{Key: "concern", Value: "only entities of concern", Remove: query(q, "concern", "", "offset", "")})
	}
	return out
}

// --- Drill-down lists ---

// listPage serves a drill-down list: the rows get returns for the page's
// filter, paged, under the named template.
func listPage[T any](s *Server, section, title, name string, get func(context.Context, store.Filter) ([]T, error)) http.HandlerFunc {
	list := cachedList(s, name, get)
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(r, section, title)
		f, ok := s.pageFilter(w, r, v, "month")
		if !ok {
			return
		}
		items, err := list(r.Context(), f)
		if err != nil {
			s.storeFail(w, r, err)
			return
		}
		v.Data = pageOf(items, f, r)
		s.render(w, r, http.StatusOK, name, v)
	}
}

// --- Enforcement ---

type enforcementData struct {
	Blocked []store.BlockedCount
	Overdue []store.OverdueClient
	Due     []store.DueRule
	Alerts  findings[store.Alert]
	Bypass  findings[store.Bypass]
	Filters []chip
}

func (s *Server) enforcementPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "enforcement", "Enforcement")
	f, ok := s.pageFilter(w, r, v, "month")
	if !ok {
		return
	}
	f.Limit = 100
	ctx := r.Context()
	var d enforcementData
	if err := both(
		func() (err error) { d.Blocked, err = cachedList(s, "blocked", s.r.Blocked)(ctx, f); return },
		func() (err error) { d.Overdue, err = cachedList(s, "overdue", s.r.Overdue)(ctx, f); return },
		func() (err error) { d.Due, err = cachedList(s, "due", s.r.Due)(ctx, f); return },
		func() (err error) { d.Alerts, d.Bypass, err = s.pageFindings(ctx, f, v.Q); return },
	); err != nil {
		s.storeFail(w, r, err)
		return
	}
	d.Filters = pageOf([]int{}, f, r).Filters
	v.Data = d
	s.render(w, r, http.StatusOK, "enforcement", v)
}

// --- Apps ---

func (s *Server) appsPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "apps", "Apps")
	f, ok := s.pageFilter(w, r, v, "all")
	if !ok {
		return
	}
	app := r.URL.Query().Get("app")
	if app != "" {
		// The filter has no app field: read more and keep the app's rows.
		f.Limit, f.Offset = queryLimit, 0
	}
	as, err := cachedList(s, "audits", s.r.Audits)(r.Context(), f)
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	if app != "" {
		as = slices.DeleteFunc(slices.Clone(as), func(a store.AuditSummary) bool { return a.App != app })
	}
	v.Data = pageOf(as, f, r)
	s.render(w, r, http.StatusOK, "apps", v)
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "apps", "Audit")
	s.entities(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		s.errorPage(w, r, http.StatusBadRequest, "audit id: want a number")
		return
	}
	a, err := s.r.Audit(r.Context(), id)
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	slices.SortStableFunc(a.Findings, func(x, y store.Finding) int { return sevRank(y.Severity) - sevRank(x.Severity) })
	v.Title = cmp.Or(a.Label, a.App)
	d := &auditData{Audit: a}
	// The package's history: every audit of it, newest first.
	all, err := s.r.Audits(r.Context(), store.Filter{Limit: store.MaxLimit})
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	for _, x := range all {
		if x.App == a.App {
			d.Versions = append(d.Versions, x)
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "audit", v)
}

// auditData is an audit and the other audits of the same package.
type auditData struct {
	*store.Audit
	Versions []store.AuditSummary
}

func sevRank(s string) int {
	switch s {
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

// --- Compliance ---

type complianceData struct {
	rows[store.InventoryItem]
	ByVerdict []verdictCount
	Due       []store.DueRule
	Rules     []ruleCompliance
	Next      *store.DueRule // the nearest deadline still ahead
}

// ruleCompliance counts the devices of one rule by where they stand:
// overdue (the banned app still installed after the deadline), due (still
// installed, deadline ahead) and removed (the inventory saw it go).
type ruleCompliance struct {
	Rule                  string
	Overdue, Due, Removed int
	Deadline              time.Time
}

type verdictCount struct {
	Verdict string
	N       int
}

func (s *Server) compliancePage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "compliance", "Compliance")
	f, ok := s.pageFilter(w, r, v, "all")
	if !ok {
		return
	}
	app := r.URL.Query().Get("app")
	if app != "" {
		f.Limit, f.Offset = queryLimit, 0
	}
	df := f
	df.Limit, df.Offset = 20, 0
	var inv []store.InventoryItem
	var due []store.DueRule
	if err := both(
		func() (err error) { inv, err = cachedList(s, "inventory", s.r.Inventory)(r.Context(), f); return },
		func() (err error) { due, err = cachedList(s, "due", s.r.Due)(r.Context(), df); return },
	); err != nil {
		s.storeFail(w, r, err)
		return
	}
	if app != "" {
		inv = slices.DeleteFunc(slices.Clone(inv), func(i store.InventoryItem) bool { return i.App != app })
	}
	counts := map[string]int{}
	for _, i := range inv {
		counts[cmp.Or(i.Verdict, "unknown")]++
	}
	d := complianceData{rows: pageOf(inv, f, r), Due: due}
	for _, k := range []string{"overdue", "due", "removed", "compliant", "unknown"} {
		if counts[k] > 0 {
			d.ByVerdict = append(d.ByVerdict, verdictCount{k, counts[k]})
		}
	}
	d.Rules = complianceByRule(inv, due)
	for i := range due {
		if dl := due[i].Rule.Deadline; !dl.IsZero() && (d.Next == nil || dl.Before(d.Next.Rule.Deadline)) {
			d.Next = &due[i]
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "compliance", v)
}

// complianceByRule counts distinct devices per rule and standing.
func complianceByRule(inv []store.InventoryItem, due []store.DueRule) []ruleCompliance {
	type key struct{ rule, verdict, device string }
	seen := map[key]bool{}
	by := map[string]*ruleCompliance{}
	for _, i := range inv {
		if i.Rule == "" {
			continue
		}
		k := key{i.Rule, i.Verdict, i.Device}
		if seen[k] {
			continue
		}
		seen[k] = true
		rc := by[i.Rule]
		if rc == nil {
			rc = &ruleCompliance{Rule: i.Rule}
			by[i.Rule] = rc
		}
		switch i.Verdict {
		case "overdue":
			rc.Overdue++
		case "due":
			rc.Due++
		case "removed":
			rc.Removed++
		}
	}
	for _, d := range due {
		if rc := by[d.Rule.ID]; rc != nil {
			rc.Deadline = d.Rule.Deadline
		}
	}
	out := make([]ruleCompliance, 0, len(by))
	for _, rc := range by {
		out = append(out, *rc)
	}
	slices.SortFunc(out, func(a, b ruleCompliance) int {
		if c := cmp.Compare(b.Overdue+b.Due, a.Overdue+a.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	return out
}

// --- Search ---

type hitGroup struct {
	Kind string
	Hits []hitLink
}

type hitLink struct {
	store.Hit
	Href template.URL
}

// hitHref is where a search hit leads.
func hitHref(h store.Hit) string {
	k := url.QueryEscape(h.Key)
	switch h.Kind {
	case "device":
		return "/devices/" + url.PathEscape(h.Key)
	case "name":
		return "/names?name=" + k
	case "entity":
		return "/devices?entity=" + k
	case "list":
		return "/devices?list=" + k
	case "rule":
		return "/enforcement?rule=" + k
	case "app":
		return "/compliance?app=" + k
	}
	return "/search?q=" + k
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "search", "Search")
	s.entities(r.Context())
	q, n, err := searchParams(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	v.Search = q
	hits, err := s.search(r.Context(), q, max(n, 200))
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	var groups []hitGroup
	for _, h := range hits {
		i := slices.IndexFunc(groups, func(g hitGroup) bool { return g.Kind == h.Kind })
		if i < 0 {
			groups = append(groups, hitGroup{Kind: h.Kind})
			i = len(groups) - 1
		}
		groups[i].Hits = append(groups[i].Hits, hitLink{Hit: h, Href: template.URL(hitHref(h))}) // escaped above
	}
	v.Data = struct {
		Q      string
		Groups []hitGroup
		N      int
	}{q, groups, len(hits)}
	s.render(w, r, http.StatusOK, "search", v)
}

// both runs the store questions of a page at once (the store reads on
// several connections) and returns the first error.
func both(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
