// Package storehtml renders the compliance report: one self-contained
// HTML file (styles, charts and maps inline, no script, no network) that
// prints cleanly to PDF. It reads everything through store.Reader, so the
// same report comes from the store or from a scan's JSON loaded into a
// temporary store.
//
// It must never import a store backend, a command or the pipeline: it
// renders what a Reader answers.
package storehtml

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/render/chart"
	"github.com/outflow-dev/outflow/internal/render/worldmap"
	"github.com/outflow-dev/outflow/internal/report/figure"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/version"
)

// Data is what the report shows.
type Data struct {
	Title     string
	Source    string // where the data came from, for the footer
	Generated time.Time
	Filter    store.Filter
	Since     time.Time
	Until     time.Time

	Overview *store.Overview
	Devices  []store.DeviceSummary
	Blocked  []store.BlockedCount
	Overdue  []store.OverdueClient
	Due      []store.DueRule
	Audits   []store.AuditSummary
	Entities map[string]store.Entity
	// PolicyChanges are the policy's changes made through the dashboard
	// in the period, from stores that keep them (store.PolicyLog);
	// NoPolicyLog says the store keeps none.
	PolicyChanges []store.PolicyChange
	NoPolicyLog   bool
	// MoreDevices is how many devices with exposures were left out.
	MoreDevices int
}

// Limits of the tables, so that a report over a large fleet stays a
// document one can read and print.
const (
	maxDevices = 200
	maxRows    = 100
)

// Collect asks r what the report shows for the filter.
func Collect(ctx context.Context, r store.Reader, f store.Filter, title, source string, now time.Time) (*Data, error) {
	d := &Data{Title: title, Source: source, Generated: now.UTC(), Filter: f, Entities: map[string]store.Entity{}}
	var err error
	if d.Overview, err = r.Overview(ctx, f); err != nil {
		return nil, fmt.Errorf("report: overview: %w", err)
	}
	d.Since, d.Until = d.Overview.Since, d.Overview.Until
	df := f
	df.Limit = store.MaxLimit
	all, err := r.Devices(ctx, df)
	if err != nil {
		return nil, fmt.Errorf("report: devices: %w", err)
	}
	for _, dv := range all {
		if len(dv.Exposures) == 0 && dv.Blocked == 0 {
			continue
		}
		if len(d.Devices) == maxDevices {
			d.MoreDevices++
			continue
		}
		d.Devices = append(d.Devices, dv)
	}
	// The evidence behind each exposure (the names the device used, the
	// certificate, the network), so that the report names what it rests on.
	for i := range d.Devices {
		dd, err := r.Device(ctx, d.Devices[i].Device.ID, f)
		if err != nil {
			return nil, fmt.Errorf("report: device %s: %w", d.Devices[i].Device.ID, err)
		}
		ev := map[string][]store.Evidence{}
		for _, x := range dd.Exposures {
			ev[x.Entity] = x.Evidence
		}
		for j := range d.Devices[i].Exposures {
			x := &d.Devices[i].Exposures[j]
			x.Evidence = ev[x.Entity]
		}
	}
	lf := f
	lf.Limit = maxRows
	if d.Blocked, err = r.Blocked(ctx, lf); err != nil {
		return nil, fmt.Errorf("report: blocked: %w", err)
	}
	if d.Overdue, err = r.Overdue(ctx, lf); err != nil {
		return nil, fmt.Errorf("report: overdue: %w", err)
	}
	if d.Due, err = r.Due(ctx, lf); err != nil {
		return nil, fmt.Errorf("report: due: %w", err)
	}
	if d.Audits, err = r.Audits(ctx, lf); err != nil {
		return nil, fmt.Errorf("report: audits: %w", err)
	}
	if pl, ok := r.(store.PolicyLog); ok {
		// The filter's period as given: a report up to now includes the
		// changes made after the newest traffic.
		pf := store.Filter{Since: f.Since, Until: f.Until, Limit: maxRows}
		if d.PolicyChanges, err = pl.PolicyChanges(ctx, pf); err != nil {
			return nil, fmt.Errorf("report: policy changes: %w", err)
		}
	} else {
		d.NoPolicyLog = true
	}
	ents, err := r.Entities(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: entities: %w", err)
	}
	for _, e := range ents {
		d.Entities[e.ID] = e
	}
	return d, nil
}

//go:embed report.html.tmpl
var pageText string

// page is parsed on first use, not at start: every outflow command links
// this package, few write the report, and parsing the template cost more
// than a short command's own work.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"bytes": render.Bytes,
		"num":   func(n any) string { return fmt.Sprintf("%d", n) },
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04")
		},
		"join":     strings.Join,
		"evidence": evidenceText,
		"version":  func() string { return "outflow " + version.Short() },
		"jur": func(e store.Entity) string {
			return render.Jurisdictions(cmp.Or(e.Registered, e.Jurisdiction), e.Jurisdiction)
		},
		"listmark": func(e store.Entity, list string) string {
			return render.List(list, slices.Contains(e.Unverified, list))
		},
		"unverified": func(e store.Entity, list string) bool { return slices.Contains(e.Unverified, list) },
		"country":    countryName,
		// an owner's service is the exposure; a host or carrier is context
		"role": render.Role,
		"roleClass": func(role string) string {
			if render.NetworkOnly(role) || role == "chip-maker" {
				return ""
			}
			return " bad"
		},
	}).Parse(pageText))
})

// view is Data with what the template computes.
type view struct {
	*Data
	Trend        template.HTML
	Bars         template.HTML
	OwnerMap     template.HTML
	HostMap      template.HTML
	Hosts        []store.HostTotal
	Areas        []store.AreaTotal
	Entities     []store.EntityTotal
	EntityName   func(id string) string
	Selection    string
	OverdueCount int
	// HostKnown of HostTotal bytes sent went to a network the report can
	// name (a catalogued prefix, or an AS from scan --ip-db).
	HostKnown, HostTotal uint64
}

// Write renders the report.
func Write(w io.Writer, d *Data) error {
	v := &view{Data: d}
	v.EntityName = func(id string) string {
		if e, ok := d.Entities[id]; ok && e.Name != "" {
			return e.Name
		}
		return id
	}
	ov := d.Overview
	for _, e := range ov.Entities {
		if e.Period != (store.Traffic{}) || e.Queries > 0 {
			v.Entities = append(v.Entities, e)
		}
	}
	v.Trend = figure.Trend(ov, v.EntityName)
	var bars []chart.Bar
	for i, e := range v.Entities {
		if i == 15 {
			break
		}
		if e.Period.BytesOut == 0 {
			continue
		}
		bars = append(bars, chart.Bar{Label: v.EntityName(e.Entity.ID), Value: float64(e.Period.BytesOut), Text: render.Bytes(e.Period.BytesOut)})
	}
	if len(bars) > 0 {
		v.Bars = chart.Bars("Bytes sent to each entity of concern", bars)
	}
	owners := map[string]float64{}
	ownerLabel := map[string]string{}
	for _, a := range ov.ByJurisdiction {
		v.Areas = append(v.Areas, a)
		if a.Country == "" {
			continue
		}
		cc := strings.ToUpper(a.Country)
		owners[cc] += float64(a.BytesOut)
		names := make([]string, len(a.Entities))
		for i, id := range a.Entities {
			names[i] = v.EntityName(id)
		}
		ownerLabel[cc] = fmt.Sprintf("%s sent to %s (%d devices)", render.Bytes(a.BytesOut), strings.Join(names, ", "), a.Devices)
	}
	v.OwnerMap = figure.Map("Bytes sent, by the jurisdiction of the data's owners", owners, func(cc string) string { return ownerLabel[cc] }, nil)
	hosts := map[string]float64{}
	hostLabel := map[string][]string{}
	for _, h := range ov.ByHost {
		if len(v.Hosts) < maxRows {
			v.Hosts = append(v.Hosts, h)
		}
		v.HostTotal += h.BytesOut
		if h.Host != "" {
			v.HostKnown += h.BytesOut
		}
		if h.Country == "" {
			continue
		}
		cc := strings.ToUpper(h.Country)
		hosts[cc] += float64(h.BytesOut)
		hostLabel[cc] = append(hostLabel[cc], fmt.Sprintf("%s %s", cmp.Or(h.Host, "unknown network"), render.Bytes(h.BytesOut)))
	}
	v.HostMap = figure.Map("Bytes sent, by the country of the servers' hosting networks", hosts, func(cc string) string {
		return strings.Join(hostLabel[cc], "; ")
	}, nil)
	v.Selection = selection(d.Filter)
	for _, o := range d.Overdue {
		v.OverdueCount += int(min(o.Queries, 1))
	}
	return page().Execute(w, v)
}

func selection(f store.Filter) string {
	var parts []string
	for _, p := range []struct {
		name string
		v    []string
	}{{"groups", f.Groups}, {"entities", f.Entities}, {"lists", f.Lists}, {"devices", f.Devices}} {
		if len(p.v) > 0 {
			parts = append(parts, p.name+": "+strings.Join(p.v, ", "))
		}
	}
	if len(parts) == 0 {
		return "all devices, groups and entities"
	}
	return strings.Join(parts, "; ")
}

func countryName(c string) string {
	if c == "" {
		return "unknown"
	}
	cc := strings.ToUpper(c)
	if n := worldmap.Name(cc); n != cc {
		return n + " (" + cc + ")"
	}
	return cc
}

// maxEvidence is how many pieces of evidence an exposure lists; the store
// and the dashboard have the rest.
const maxEvidence = 3

// evidenceText names the strongest evidence of an exposure: "tls-sni
// www.tiktok.com, dns-answer v16m.tiktokcdn.com".
func evidenceText(ev []store.Evidence) string {
	var parts []string
	for i, e := range ev {
		if i == maxEvidence {
			parts = append(parts, fmt.Sprintf("%d more", len(ev)-maxEvidence))
			break
		}
		parts = append(parts, e.Kind+" "+e.Value)
	}
	return strings.Join(parts, ", ")
}
