package worldmap

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var svgOut = flag.String("svg", "", "write the test map to this file, to look at")

func TestCountries(t *testing.T) {
	cs := Countries()
	if len(cs) < 200 {
		t.Fatalf("%d countries, want at least 200", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(c.Code) || c.Name == "" || seen[c.Code] {
			t.Errorf("bad or repeated country %+v", c)
		}
		seen[c.Code] = true
		if !c.Marker() && !regexp.MustCompile(`^(M[-0-9. ]+(L[-0-9. ]+)*Z)+$`).MatchString(c.Path) {
			t.Errorf("%s: path is not M/L/Z only", c.Code)
		}
	}
	tests := []struct {
		code, name string
		marker     bool
	}{
		{"CN", "China", false}, {"US", "United States", false}, {"TW", "Taiwan", false},
		{"RU", "Russian Federation", false}, {"SG", "Singapore", true}, {"HK", "Hong Kong", true},
		{"MO", "Macao", true}, {"XK", "Kosovo", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			if !seen[tc.code] || Name(tc.code) != tc.name {
				t.Fatalf("Name(%s) = %q, want %q", tc.code, Name(tc.code), tc.name)
			}
			if cs[byCode[tc.code]].Marker() != tc.marker {
				t.Fatalf("marker = %v", !tc.marker)
			}
		})
	}
	if seen["AQ"] {
		t.Error("Antarctica drawn")
	}
	if Name("ZZ") != "ZZ" {
		t.Error("unknown code not returned as is")
	}
}

func TestClass(t *testing.T) {
	tests := []struct {
		v, top float64
		want   int
	}{
		{0, 100, 0}, {-1, 100, 0}, {5, 0, 0}, {100, 100, 5}, {1e9, 1e9, 5},
		{1, 1e9, 1}, {1e3, 1e9, 2}, {1e6, 1e9, 4}, {1e8, 1e9, 5},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.v, "/", tc.top), func(t *testing.T) {
			if got := Class(tc.v, tc.top); got != tc.want {
				t.Fatalf("Class = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	m := Map{
		Title:  `owners <"jurisdiction">`,
		Values: map[string]float64{"CN": 5e8, "US": 2e6, "SG": 4e7, "HK": 1},
		Label:  func(v float64) string { return fmt.Sprintf("%.0f bytes", v) },
		Href:   func(cc string) string { return "/search?q=" + cc + "&x=<1>" },
	}
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		`aria-label="owners &lt;&#34;jurisdiction&#34;&gt;"`,
		`fill="#b30000" stroke="#7f2704" stroke-width="0.8" data-cc="CN"><title>China: 500000000 bytes</title>`,
		`<a href="/search?q=SG&amp;x=&lt;1&gt;"><circle`,
		`data-cc="FR"><title>France</title>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("map lacks %s", want)
		}
	}
	if strings.Contains(s, `data-cc="MC"`) {
		t.Error("a marker without value is drawn")
	}
	if strings.Contains(s, "style=") || strings.Contains(s, "<script") {
		t.Error("inline style or script: the CSP forbids them")
	}
	if strings.Contains(s, `class="legend"`) {
		t.Error("a legend is drawn though none was asked for")
	}
	if *svgOut != "" {
		os.WriteFile(*svgOut, b.Bytes(), 0o644)
	}
}

func TestLegend(t *testing.T) {
	var b bytes.Buffer
	m := Map{Values: map[string]float64{"CN": 300}, Legend: func(top float64) string { return fmt.Sprintf("more <bytes>, max %.0f", top) }}
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, `class="legend"`) || !strings.Contains(s, "more &lt;bytes&gt;, max 300") {
		t.Errorf("legend missing or unescaped: %s", s[strings.LastIndex(s, "<g"):])
	}
	for _, c := range Palette {
		if !strings.Contains(s, `fill="`+c+`" stroke="#bbb"`) {
			t.Errorf("legend lacks the swatch %s", c)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	m := Map{Values: map[string]float64{"CN": 5e8, "US": 2e6, "SG": 4e7}, Label: func(v float64) string { return fmt.Sprint(v) },
		Href: func(cc string) string { return "/x?cc=" + cc }}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := m.Write(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
