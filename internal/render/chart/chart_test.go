package chart

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 0}, {-3, 0}, {1, 1}, {1.1, 2}, {2, 2}, {2.1, 2.5}, {3, 5}, {7, 10}, {46300, 50000}, {1e9, 1e9}, {0.3, 0.5},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			if got := niceCeil(tc.in); got != tc.want {
				t.Fatalf("niceCeil = %g, want %g", got, tc.want)
			}
		})
	}
}

func TestNiceCeilBinary(t *testing.T) {
	for in, want := range map[float64]float64{500_000: 500 * 1024, 290_000: 500 * 1024, 1000: 1024, 3 << 20: 5 << 20, 1 << 20: 1 << 20, 850 << 10: 1 << 20, 100: 100} {
		if got := niceCeilBinary(in); got != want {
			t.Errorf("niceCeilBinary(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestBars(t *testing.T) {
	s := string(Bars(`hosts <&>`, []Bar{
		{Label: "Akamai <script>", Value: 100, Text: "100 B", Href: "/x?a=1&b=2"},
		{Label: "small", Value: 1},
		{Label: "none", Value: 0},
	}))
	for _, want := range []string{
		`aria-label="hosts &lt;&amp;&gt;"`, `>Akamai &lt;script&gt;</text>`, `<a href="/x?a=1&amp;b=2">`,
		`width="330.0"`, `width="3.3"`, `width="0.0"`, `>100 B</text>`, `>1</text>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("bars lack %s", want)
		}
	}
	if strings.Contains(s, "<script") || strings.Contains(s, "style=") {
		t.Error("unescaped text or inline style")
	}
}

func TestTrend(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := Trend{Title: "t", Days: []time.Time{d0, d0.AddDate(0, 0, 1), d0.AddDate(0, 0, 2)},
		Series: []Series{{Label: "TikTok", Color: Colors[0], Values: []float64{10, 0, 30}}, {Label: "other", Color: Other, Values: []float64{5, 5}}},
		Format: func(v float64) string { return fmt.Sprintf("%.0f B", v) }}
	s := string(tr.SVG())
	// The axis tops at 50 (30+0 is the highest stack, rounded up: 30 -> 50).
	for _, want := range []string{">50 B</text>", "<title>2026-03-03 TikTok: 30 B</title>", "<title>2026-03-01 other: 5 B</title>", ">Mar 1</text>"} {
		if !strings.Contains(s, want) {
			t.Errorf("trend lacks %s", want)
		}
	}
	if strings.Contains(s, "2026-03-02 TikTok") {
		t.Error("a zero value drew a bar")
	}
	empty := string(Trend{Title: "e"}.SVG())
	if !strings.Contains(empty, "no traffic in this period") {
		t.Error("an empty trend does not say so")
	}
}
