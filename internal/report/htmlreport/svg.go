package htmlreport

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// palette for series (entities in the trend); the last is "others".
var palette = []string{"#c0392b", "#2c7fb8", "#e67e22", "#27ae60", "#8e44ad", "#16a085", "#d35400", "#7f8c8d", "#b9770e", "#bdc3c7"}

// heat is a sequential scale from light to dark red for maps.
var heat = []string{"#fde0c5", "#facba6", "#f8b58b", "#f59e72", "#f2855d", "#ef6a4c", "#eb4a40", "#c8313a", "#9c1f34"}

func heatColor(v, maxV float64) string {
	if v <= 0 || maxV <= 0 {
		return "#e9ecef"
	}
	// log scale: traffic spans orders of magnitude
	f := math.Log1p(v) / math.Log1p(maxV)
	i := int(math.Round(f * float64(len(heat)-1)))
	return heat[max(0, min(i, len(heat)-1))]
}

// worldMap draws countries coloured by value, with a legend.
func worldMap(title string, vals map[string]float64, label func(country string) string) template.HTML {
	var maxV float64
	for _, v := range vals {
		maxV = max(maxV, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="map" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, worldWidth, worldHeight+40, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#f8fbfd"/>`, worldWidth, worldHeight)
	codes := make([]string, 0, len(worldPaths))
	for c := range worldPaths {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		v := vals[c]
		stroke := "#ffffff"
		if v > 0 {
			stroke = "#5a1a1a"
		}
		fmt.Fprintf(&b, `<path d="%s" fill="%s" stroke="%s" stroke-width="0.4"><title>%s</title></path>`, worldPaths[c], heatColor(v, maxV), stroke,
			html.EscapeString(label(c)))
	}
	// small countries as dots, drawn only when they have a value
	for _, c := range sortedKeys(vals) {
		p, ok := worldPoints[c]
		if !ok || vals[c] <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#5a1a1a" stroke-width="0.8"><title>%s</title></circle>`, p[0], p[1],
			heatColor(vals[c], maxV), html.EscapeString(label(c)))
	}
	// legend
	y := worldHeight + 12
	fmt.Fprintf(&b, `<g font-size="11" fill="#333">`)
	fmt.Fprintf(&b, `<text x="10" y="%d">none</text><rect x="45" y="%d" width="18" height="12" fill="#e9ecef"/>`, y+10, y)
	for i, c := range heat {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="18" height="12" fill="%s"/>`, 80+i*18, y, c)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">more (log scale, max %s)</text>`, 80+len(heat)*18+6, y+10, html.EscapeString(bytesText(uint64(maxV))))
	fmt.Fprintf(&b, `</g></svg>`)
	return template.HTML(b.String())
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// trendChart is a stacked bar chart of bytes out per day and entity.
func trendChart(tr []store.TrendPoint, since, until time.Time, order []string) template.HTML {
	if len(tr) == 0 {
		return template.HTML(`<p class="empty">No traffic to entities of concern in the period.</p>`)
	}
	days := map[time.Time]map[string]uint64{}
	first, last := tr[0].Day, tr[0].Day
	for _, p := range tr {
		if days[p.Day] == nil {
			days[p.Day] = map[string]uint64{}
		}
		days[p.Day][p.Entity] += p.BytesOut
		if p.Day.Before(first) {
			first = p.Day
		}
		if p.Day.After(last) {
			last = p.Day
		}
	}
	n := int(last.Sub(first).Hours()/24) + 1
	var maxV uint64
	for _, m := range days {
		var s uint64
		for _, v := range m {
			s += v
		}
		maxV = max(maxV, s)
	}
	const w, h, left, bottom, top = 900.0, 220.0, 70.0, 30.0, 10.0
	plotW := w - left - 10
	plotH := h - bottom - top
	bw := plotW / float64(n)
	if bw > 48 {
		// a few days: bars of a sensible width, left-aligned
		bw = 48
	}
	color := map[string]string{}
	for i, e := range order {
		color[e] = palette[min(i, len(palette)-2)]
	}
	color[""] = palette[len(palette)-1]
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="bytes sent per day" xmlns="http://www.w3.org/2000/svg"><g font-size="10" fill="#555">`, w, h+24)
	// axis and grid: four lines
	scaleMax := niceCeil(float64(maxV))
	for i := 0; i <= 4; i++ {
		v := scaleMax * float64(i) / 4
		y := top + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			left, w-10, y, y, left-4, y+3, html.EscapeString(bytesText(uint64(v))))
	}
	stack := append(slices.Clone(order), "")
	for d := 0; d < n; d++ {
		day := first.Add(time.Duration(d) * 24 * time.Hour)
		m := days[day]
		y := top + plotH
		x := left + float64(d)*bw
		for _, e := range stack {
			v := m[e]
			if v == 0 {
				continue
			}
			hh := plotH * float64(v) / scaleMax
			y -= hh
			name := e
			if name == "" {
				name = "others"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`, x+bw*0.1, y, bw*0.8, hh, color[e],
				day.Format("2006-01-02"), html.EscapeString(name), bytesText(v))
		}
		// a date label every so often
		every := max(1, n/8)
		if d%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, x+bw/2, top+plotH+14, day.Format("Jan 2"))
		}
	}
	// legend
	lx := left
	for _, e := range stack {
		name := e
		if name == "" {
			if !hasOthers(tr) {
				continue
			}
			name = "others"
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, lx, h+8, color[e], lx+13, h+17, html.EscapeString(name))
		lx += 20 + float64(len(name))*6
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

func hasOthers(tr []store.TrendPoint) bool {
	for _, p := range tr {
		if p.Entity == "" {
			return true
		}
	}
	return false
}

// barChart is a horizontal bar per label.
func barChart(labels []string, vals []uint64, color string) template.HTML {
	if len(vals) == 0 {
		return ""
	}
	var maxV uint64
	for _, v := range vals {
		maxV = max(maxV, v)
	}
	const w, row, left = 900.0, 22.0, 220.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="bytes sent per entity" xmlns="http://www.w3.org/2000/svg"><g font-size="11" fill="#333">`, w, row*float64(len(vals))+4)
	for i, v := range vals {
		y := float64(i) * row
		bwid := 0.0
		if maxV > 0 {
			bwid = (w - left - 110) * float64(v) / float64(maxV)
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end"><title>%s</title>%s</text><rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" fill="%s"/><text x="%.1f" y="%.0f">%s</text>`,
			left-6, y+15, html.EscapeString(labels[i]), html.EscapeString(shorten(labels[i], 34)), left, y+3, max(bwid, 1), row-6, color, left+bwid+6, y+15, bytesText(v))
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// bytesText is a byte count in binary units.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
