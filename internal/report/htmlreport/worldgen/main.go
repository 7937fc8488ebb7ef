// Command worldgen writes world_gen.go: country outlines as SVG paths in
// the Equal Earth projection, from Natural Earth's 1:110m countries as
// packaged by the npm package world-atlas (ISC licence; the data is in the
// public domain), keyed by ISO 3166 alpha-2 codes from i18n-iso-countries
// (MIT). Countries too small for 1:110m (Singapore, Hong Kong, Macao...)
// are taken from the 1:50m set as a point at their centre.
//
//	mkdir /tmp/m && cd /tmp/m && npm install world-atlas@2.0.2 i18n-iso-countries@7.14.0
//	go run ./internal/report/htmlreport/worldgen -npm /tmp/m/node_modules -o internal/report/htmlreport/world_gen.go
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

type topo struct {
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects struct {
		Countries struct {
			Geometries []struct {
				Type       string            `json:"type"`
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
				Arcs       json.RawMessage   `json:"arcs"`
			} `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
}

// Equal Earth (Šavrič, Patterson, Jenny 2018).
const (
	a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
	scale          = 184.7
	width          = 1000.0
	top            = 1.3173 * scale // y of the pole, before the offset
)

func project(lon, lat float64) (float64, float64) {
	l, p := lon*math.Pi/180, lat*math.Pi/180
	th := math.Asin(math.Sqrt(3) / 2 * math.Sin(p))
	t2 := th * th
	t6 := t2 * t2 * t2
	x := 2 * math.Sqrt(3) * l * math.Cos(th) / (3 * (9*a4*t6*t2 + 7*a3*t6 + 3*a2*t2 + a1))
	y := th * (a1 + a2*t2 + t6*(a3+a4*t2))
	return width/2 + x*scale, top - y*scale
}

func decodeArcs(t *topo) [][][2]float64 {
	out := make([][][2]float64, len(t.Arcs))
	for i, arc := range t.Arcs {
		var x, y float64
		for _, p := range arc {
			x += p[0]
			y += p[1]
			lon := x*t.Transform.Scale[0] + t.Transform.Translate[0]
			lat := y*t.Transform.Scale[1] + t.Transform.Translate[1]
			out[i] = append(out[i], [2]float64{lon, lat})
		}
	}
	return out
}

// rings returns the rings of a geometry as lon/lat points.
func rings(typ string, raw json.RawMessage, arcs [][][2]float64) [][][2]float64 {
	var polys [][][]int
	switch typ {
	case "Polygon":
		var p [][]int
		if err := json.Unmarshal(raw, &p); err != nil {
			log.Fatal(err)
		}
		polys = [][][]int{p}
	case "MultiPolygon":
		if err := json.Unmarshal(raw, &polys); err != nil {
			log.Fatal(err)
		}
	default:
		return nil
	}
	var out [][][2]float64
	for _, poly := range polys {
		for _, ring := range poly {
			var pts [][2]float64
			for _, ai := range ring {
				var a [][2]float64
				if ai < 0 {
					a = slices.Clone(arcs[^ai])
					slices.Reverse(a)
				} else {
					a = arcs[ai]
				}
				if len(pts) > 0 {
					a = a[1:]
				}
				pts = append(pts, a...)
			}
			out = append(out, pts)
		}
	}
	return out
}

func path(rs [][][2]float64) string {
	var b strings.Builder
	for _, r := range rs {
		var lx, ly float64
		n := 0
		for i, p := range r {
			x, y := project(p[0], p[1])
			if i > 0 && i < len(r)-1 && math.Hypot(x-lx, y-ly) < 0.7 {
				continue
			}
			// a ring that crosses the antimeridian would draw a line
			// across the map: start a new subpath instead
			jump := n > 0 && math.Abs(x-lx) > width/2
			if n == 0 || jump {
				b.WriteString("M")
			} else {
				b.WriteString("L")
			}
			b.WriteString(strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64))
			b.WriteString(",")
			b.WriteString(strconv.FormatFloat(math.Round(y*10)/10, 'f', -1, 64))
			lx, ly = x, y
			n++
		}
		if n > 0 {
			b.WriteString("Z")
		}
	}
	return b.String()
}

func load(p string) *topo {
	b, err := os.ReadFile(p)
	if err != nil {
		log.Fatal(err)
	}
	var t topo
	if err := json.Unmarshal(b, &t); err != nil {
		log.Fatal(err)
	}
	return &t
}

func main() {
	npm := flag.String("npm", "node_modules", "node_modules holding world-atlas and i18n-iso-countries")
	out := flag.String("o", "world_gen.go", "output file")
	flag.Parse()
	var codes [][]string
	b, err := os.ReadFile(filepath.Join(*npm, "i18n-iso-countries", "codes.json"))
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &codes); err != nil {
		log.Fatal(err)
	}
	byNum := map[string]string{}
	for _, c := range codes {
		byNum[c[2]] = c[0]
	}
	var en struct {
		Countries map[string]json.RawMessage `json:"countries"`
	}
	b, err = os.ReadFile(filepath.Join(*npm, "i18n-iso-countries", "langs", "en.json"))
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &en); err != nil {
		log.Fatal(err)
	}
	names := map[string]string{}
	for k, raw := range en.Countries {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var ss []string
			json.Unmarshal(raw, &ss)
			if len(ss) > 0 {
				s = ss[len(ss)-1] // the short form ("United States")
			}
		}
		names[k] = s
	}
	byName := map[string]string{"Kosovo": "XK"}
	names["XK"] = "Kosovo"

	code := func(id string, props map[string]string) string {
		if c, ok := byNum[id]; ok {
			return c
		}
		return byName[props["name"]]
	}
	paths := map[string]string{}
	t110 := load(filepath.Join(*npm, "world-atlas", "countries-110m.json"))
	arcs := decodeArcs(t110)
	for _, g := range t110.Objects.Countries.Geometries {
		c := code(g.ID, g.Properties)
		if c == "" || c == "AQ" {
			continue
		}
		paths[c] += path(rings(g.Type, g.Arcs, arcs))
	}
	points := map[string][2]float64{}
	t50 := load(filepath.Join(*npm, "world-atlas", "countries-50m.json"))
	arcs50 := decodeArcs(t50)
	for _, g := range t50.Objects.Countries.Geometries {
		c := code(g.ID, g.Properties)
		if c == "" || c == "AQ" || paths[c] != "" {
			continue
		}
		// centre of the bounding box of the largest ring
		var best [][2]float64
		for _, r := range rings(g.Type, g.Arcs, arcs50) {
			if len(r) > len(best) {
				best = r
			}
		}
		if len(best) == 0 {
			continue
		}
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range best {
			minX, maxX = min(minX, p[0]), max(maxX, p[0])
			minY, maxY = min(minY, p[1]), max(maxY, p[1])
		}
		x, y := project((minX+maxX)/2, (minY+maxY)/2)
		points[c] = [2]float64{math.Round(x*10) / 10, math.Round(y*10) / 10}
	}
	// the map stops short of Antarctica
	_, bottom := project(0, -58)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "// Code generated by worldgen; DO NOT EDIT.\n// Natural Earth 1:110m (public domain) via world-atlas 2.0.2 (ISC); codes from i18n-iso-countries 7.14.0 (MIT).\n\npackage htmlreport\n\n")
	fmt.Fprintf(&buf, "const worldWidth, worldHeight = %d, %d\n\n", int(width), int(math.Ceil(bottom)))
	keys := func(m map[string]string) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	fmt.Fprintf(&buf, "// worldPaths are country outlines, Equal Earth projection.\nvar worldPaths = map[string]string{\n")
	for _, k := range keys(paths) {
		fmt.Fprintf(&buf, "%q: %q,\n", k, paths[k])
	}
	fmt.Fprintf(&buf, "}\n\n// worldPoints are countries too small for the outlines.\nvar worldPoints = map[string][2]float64{\n")
	var pk []string
	for k := range points {
		pk = append(pk, k)
	}
	slices.Sort(pk)
	for _, k := range pk {
		fmt.Fprintf(&buf, "%q: {%v, %v},\n", k, points[k][0], points[k][1])
	}
	fmt.Fprintf(&buf, "}\n\n// countryNames are English short names.\nvar countryNames = map[string]string{\n")
	for _, k := range keys(names) {
		fmt.Fprintf(&buf, "%q: %q,\n", k, names[k])
	}
	fmt.Fprintf(&buf, "}\n")
	src, err := format.Source(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d outlines, %d points, %d bytes", len(paths), len(points), len(src))
}
