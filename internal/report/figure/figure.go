// Package figure draws the figures that the dashboard and the HTML report
// both show, from the same store answers with the same functions: the
// daily trend of bytes sent to entities of concern and the world maps. A
// chart cannot then read one way on screen and another on paper.
//
// It may import the store's types and internal/render; it must never
// import a store backend, a handler or a command.
package figure

import (
	"html/template"
	"strings"

	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/render/chart"
	"github.com/outflow-dev/outflow/internal/render/worldmap"
	"github.com/outflow-dev/outflow/internal/store"
)

// TrendTop is how many entities the trend stacks by name; the rest are
// one "other entities" layer.
const TrendTop = 6

// MaxDays is the longest trend drawn, in days; a longer period shows the
// MaxDays ending on its last day with traffic.
const MaxDays = 91

// Trend is the stacked daily chart of bytes sent to entities of concern:
// the TrendTop entities with most bytes in the period, then the rest.
// name gives an entity's display name.
func Trend(ov *store.Overview, name func(id string) string) template.HTML {
	var keys []chart.Key
	for _, e := range ov.Entities {
		if len(keys) == TrendTop {
			break
		}
		if e.Period.BytesOut > 0 {
			keys = append(keys, chart.Key{Key: e.Entity.ID, Label: name(e.Entity.ID)})
		}
	}
	pts := make([]chart.Point, len(ov.Trend))
	for i, p := range ov.Trend {
		pts[i] = chart.Point{Day: p.Day, Key: p.Entity, Value: float64(p.BytesOut)}
	}
	t := chart.Daily("Bytes sent to entities of concern per day", pts, keys, "other entities", ov.Since, ov.Until, MaxDays,
		func(x float64) string { return render.Bytes(uint64(x)) })
	t.Binary = true
	return t.SVG()
}

// Map draws a world map of bytes sent by country code, with the legend.
// detail adds to a country's tooltip and href links it; either may be nil.
func Map(title string, vals map[string]float64, detail func(cc string) string, href func(cc string) string) template.HTML {
	var b strings.Builder
	_ = worldmap.Map{Title: title, Values: vals, Detail: detail, Href: href,
		Label: func(v float64) string { return render.Bytes(uint64(v)) + " sent" },
		Legend: func(top float64) string {
			return "more bytes sent (log scale, at most " + render.Bytes(uint64(top)) + ")"
		},
	}.Write(&b)
	return template.HTML(b.String()) // worldmap escapes every text
}
