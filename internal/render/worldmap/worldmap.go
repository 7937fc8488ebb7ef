// Package worldmap draws a world map as SVG with each country shaded by a
// value: the map of where data's owners (or its hosts) are, the same on the
// dashboard and in the HTML report. Shapes are Natural
// Earth's 1:110m countries (public domain, via the world-atlas package,
// ISC), compiled by gen.go into countries.tsv and embedded; countries too
// small for that scale (Singapore, Hong Kong, Macao) are markers.
//
// It writes markup only and must never import the store or a handler.
package worldmap

import (
	_ "embed"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed countries.tsv
var countriesTSV string

// Country is one shape of the map.
type Country struct {
	Code string // ISO 3166-1 alpha-2
	Name string
	Path string // SVG path data; "" for a marker
	X, Y float64
}

// Marker says whether the country is drawn as a dot.
func (c Country) Marker() bool { return c.Path == "" }

var (
	once      sync.Once
	countries []Country
	byCode    map[string]int
	viewW     = 1000
	viewH     = 444
)

func parse() {
	byCode = map[string]int{}
	for _, line := range strings.Split(countriesTSV, "\n") {
		if strings.HasPrefix(line, "# viewBox ") {
			f := strings.Fields(line)
			if len(f) == 6 {
				viewW, _ = strconv.Atoi(f[4])
				viewH, _ = strconv.Atoi(f[5])
			}
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		c := Country{Code: f[0], Name: f[1]}
		if xy, ok := strings.CutPrefix(f[2], "@"); ok {
			x, y, _ := strings.Cut(xy, " ")
			c.X, _ = strconv.ParseFloat(x, 64)
			c.Y, _ = strconv.ParseFloat(y, 64)
		} else {
			c.Path = f[2]
		}
		byCode[c.Code] = len(countries)
		countries = append(countries, c)
	}
}

// Countries returns the map's countries, sorted by code.
func Countries() []Country {
	once.Do(parse)
	return countries
}

// Name returns a country's name, or the code when the map lacks it.
func Name(code string) string {
	once.Do(parse)
	if i, ok := byCode[strings.ToUpper(code)]; ok {
		return countries[i].Name
	}
	return code
}

// Palette is the fill of countries without a value, then of the classes
// from least to most (a sequential scheme, ColorBrewer OrRd, which reads
// in grey scale and to the colour-blind).
var Palette = []string{"#e8e8e4", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"}

// Map is what to draw.
type Map struct {
	Title  string             // the SVG's accessible name
	Values map[string]float64 // by country code; 0 or absent: no value
	// Label formats a value for the country's tooltip.
	Label func(float64) string
	// Detail, when set, adds to the tooltip of a country with a value
	// (which entities, which networks).
	Detail func(code string) string
	// Href links a country with a value somewhere ("" for no link).
	Href func(code string) string
	// Legend, when set, draws the scale under the map: a swatch per
	// class, then the text Legend returns for the largest value.
	Legend func(top float64) string
}

const legendH = 28

// Class returns the palette index of v among values: 0 for none, then
// five classes on a logarithmic scale up to the largest value (byte counts
// span orders of magnitude: a linear scale shows only the top country).
func Class(v, top float64) int {
	if v <= 0 || top <= 0 {
		return 0
	}
	if v >= top {
		return len(Palette) - 1
	}
	r := math.Log1p(v) / math.Log1p(top)
	c := 1 + int(r*float64(len(Palette)-1))
	return min(max(c, 1), len(Palette)-1)
}

// Write writes the map as an <svg> element, every text escaped.
func (m Map) Write(w io.Writer) error {
	cs := Countries()
	var top float64
	for _, v := range m.Values {
		top = math.Max(top, v)
	}
	var b strings.Builder
	h := viewH
	if m.Legend != nil {
		h += legendH
	}
	fmt.Fprintf(&b, `<svg class="worldmap" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		viewW, h, html.EscapeString(m.Title))
	fmt.Fprintf(&b, `<rect class="sea" width="%d" height="%d" fill="#f6f8fb"/>`, viewW, viewH)
	// Shaded countries last, so that their outline is drawn over their
	// neighbours'; markers on top of everything.
	order := make([]int, len(cs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, c := cs[order[i]], cs[order[j]]
		if a.Marker() != c.Marker() {
			return !a.Marker()
		}
		return m.Values[a.Code] < m.Values[c.Code]
	})
	for _, i := range order {
		c := cs[i]
		v := m.Values[c.Code]
		k := Class(v, top)
		tip := c.Name
		if v > 0 && m.Label != nil {
			tip += ": " + m.Label(v)
		}
		if v > 0 && m.Detail != nil {
			if d := m.Detail(c.Code); d != "" {
				tip += " — " + d
			}
		}
		href := ""
		if v > 0 && m.Href != nil {
			href = m.Href(c.Code)
		}
		if c.Marker() && v <= 0 {
			continue // a dot for every micro-state would be noise
		}
		if href != "" {
			fmt.Fprintf(&b, `<a href="%s">`, html.EscapeString(href))
		}
		stroke := "#ffffff"
		if k > 0 {
			stroke = "#7f2704"
		}
		if c.Marker() {
			fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="5" fill="%s" stroke="%s" stroke-width="1" data-cc="%s"><title>%s</title></circle>`,
				c.X, c.Y, Palette[k], stroke, c.Code, html.EscapeString(tip))
		} else {
			sw := "0.5"
			if k > 0 {
				sw = "0.8"
			}
			fmt.Fprintf(&b, `<path d="%s" fill="%s" stroke="%s" stroke-width="%s" data-cc="%s"><title>%s</title></path>`,
				c.Path, Palette[k], stroke, sw, c.Code, html.EscapeString(tip))
		}
		if href != "" {
			b.WriteString(`</a>`)
		}
	}
	if m.Legend != nil {
		y := viewH + 8
		fmt.Fprintf(&b, `<g class="legend" font-size="12" fill="#333"><text x="10" y="%d">none</text>`, y+11)
		for k, c := range Palette {
			x := 48 + k*22
			if k > 0 {
				x += 8
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="18" height="12" fill="%s" stroke="#bbb" stroke-width="0.5"/>`, x, y, c)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text></g>`, 48+len(Palette)*22+14, y+11, html.EscapeString(m.Legend(top)))
	}
	b.WriteString(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}
