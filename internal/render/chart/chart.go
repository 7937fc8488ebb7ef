// Package chart draws the charts of the dashboard and of the HTML report
// as SVG markup on the server: horizontal bars and a stacked daily trend.
// Both surfaces call the same functions with the same data, so a figure
// cannot read one way on screen and another on paper. Pages need no script
// and no network to show them, and the Content-Security-Policy can forbid
// inline styles: every colour is a presentation attribute.
//
// It writes markup only and must never import the store or a handler.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// Colors is a categorical palette (Okabe and Ito's, safe for colour
// blindness), then grey for "other".
var Colors = []string{"#d55e00", "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#f0e442", "#000000"}

// Other is the colour of the remainder.
const Other = "#9a9a9a"

// Bar is one row of a bar chart.
type Bar struct {
	Label string
	Value float64
	Text  string // the value as shown; Value formatted with %g if empty
	Href  string // optional link on the label and bar
	Color string // optional; Colors[0] if empty
}

// Bars draws a horizontal bar chart, one row per bar, largest scale at
// the largest value.
func Bars(title string, bars []Bar) template.HTML {
	const rowH, labelW, barW, textW = 22, 270, 330, 110
	w := labelW + barW + textW
	h := rowH*len(bars) + 4
	var top float64
	for _, b := range bars {
		top = math.Max(top, b.Value)
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart bars" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		w, h, w, h, esc(title))
	for i, b := range bars {
		y := i*rowH + 2
		bw := 0.0
		if top > 0 && b.Value > 0 {
			bw = math.Max(1, b.Value/top*barW)
		}
		c := b.Color
		if c == "" {
			c = Colors[0]
		}
		txt := b.Text
		if txt == "" {
			txt = fmt.Sprintf("%g", b.Value)
		}
		if b.Href != "" {
			fmt.Fprintf(&s, `<a href="%s">`, esc(b.Href))
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-8, y+15, esc(clip(b.Label, 36)))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s: %s</title></rect>`,
			labelW, y+3, bw, rowH-6, esc(c), esc(b.Label), esc(txt))
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="12" fill="#444">%s</text>`, float64(labelW)+bw+6, y+15, esc(txt))
		if b.Href != "" {
			s.WriteString(`</a>`)
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text above is escaped
}

// Series is one stacked layer of a trend.
type Series struct {
	Label  string
	Color  string
	Values []float64 // one per day of Trend.Days
}

// Trend is a stacked bar chart over days.
type Trend struct {
	Title  string
	Days   []time.Time
	Series []Series
	// Format formats an axis or tooltip value.
	Format func(float64) string
	// Binary rounds the axis to round numbers of 1024s (bytes shown in
	// KiB, MiB...), so that its labels read 512 KiB rather than 488.3 KiB.
	Binary bool
}

// SVG draws the trend with its axis and legend.
func (t Trend) SVG() template.HTML {
	const w, h, left, bottom, top, legendH = 1100, 240, 70, 24, 8, 22
	format := t.Format
	if format == nil {
		format = func(v float64) string { return fmt.Sprintf("%g", v) }
	}
	n := len(t.Days)
	totals := make([]float64, n)
	for _, s := range t.Series {
		for i := 0; i < n && i < len(s.Values); i++ {
			totals[i] += s.Values[i]
		}
	}
	var peak float64
	for _, v := range totals {
		peak = math.Max(peak, v)
	}
	scale := niceCeil(peak)
	if t.Binary {
		scale = niceCeilBinary(peak)
	}
	plotH := float64(h - bottom - top)
	plotW := float64(w - left - 10)
	var s strings.Builder
	rows := (len(t.Series) + 3) / 4
	fmt.Fprintf(&s, `<svg class="chart trend" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		w, h+legendH*rows, w, h+legendH*rows, esc(t.Title))
	// Grid lines at quarters.
	for q := 0; q <= 4; q++ {
		y := float64(top) + plotH - plotH*float64(q)/4
		fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e3e3"/>`, left, w-10, y, y)
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#555">%s</text>`, left-6, y+4, esc(format(scale*float64(q)/4)))
	}
	if n > 0 && scale > 0 {
		slot := plotW / float64(n)
		bw := math.Max(1, slot*0.8)
		for i := range n {
			x := float64(left) + slot*float64(i) + (slot-bw)/2
			y := float64(top) + plotH
			for _, se := range t.Series {
				if i >= len(se.Values) || se.Values[i] <= 0 {
					continue
				}
				bh := se.Values[i] / scale * plotH
				y -= bh
				fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					x, y, bw, math.Max(bh, 0.5), esc(se.Color), t.Days[i].Format("2006-01-02"), esc(se.Label), esc(format(se.Values[i])))
			}
		}
		// Date labels: about six.
		step := max(1, (n+5)/6)
		for i := 0; i < n; i += step {
			x := float64(left) + slot*float64(i) + slot/2
			fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#555">%s</text>`, x, h-6, t.Days[i].Format("Jan 2"))
		}
	} else {
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="middle" font-size="13" fill="#777">no traffic in this period</text>`, w/2, h/2)
	}
	for i, se := range t.Series {
		x := left + (i%4)*250
		y := h + (i/4)*legendH + 6
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12" fill="#222">%s</text>`,
			x, y, esc(se.Color), x+17, y+11, esc(clip(se.Label, 34)))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text above is escaped
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that the
// axis reads in round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// niceCeilBinary is niceCeil in the binary unit of v's size.
func niceCeilBinary(v float64) float64 {
	unit := 1.0
	for v >= 1024*unit {
		unit *= 1024
	}
	r := niceCeil(v / unit)
	if r > 512 {
		// 1000 KiB reads worse than 1.0 MiB, with quarters of 256 KiB.
		r = 1024
	}
	return r * unit
}

func esc(s string) string { return html.EscapeString(s) }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
