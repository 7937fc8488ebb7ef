package chart

import (
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func total(tr Trend) float64 {
	var s float64
	for _, se := range tr.Series {
		for _, v := range se.Values {
			s += v
		}
	}
	return s
}

func TestDaily(t *testing.T) {
	pts := []Point{
		{day("2026-03-02").Add(10 * time.Hour), "tiktok", 100},
		{day("2026-03-02").Add(11 * time.Hour), "dji", 50},
		{day("2026-03-04"), "pdd", 7},
	}
	keys := []Key{{"tiktok", "TikTok Pte. Ltd."}, {"dji", "SZ DJI Technology Co., Ltd."}}
	for _, tc := range []struct {
		name         string
		since, until time.Time
		wantDays     int
		wantFirst    string
		wantTotal    float64
	}{
		// The "all" view: the period runs to today, months after the data.
		{"all, data long ago", day("2025-01-01"), day("2026-12-06"), 3, "2026-03-02", 157},
		{"unbounded", time.Time{}, time.Time{}, 3, "2026-03-02", 157},
		{"a week around the data", day("2026-02-27"), day("2026-03-06"), 7, "2026-02-27", 157},
		{"a week without it", day("2026-05-01"), day("2026-05-08"), 7, "2026-05-01", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := Daily("t", pts, keys, "other entities", tc.since, tc.until, 91, nil)
			if len(tr.Days) != tc.wantDays {
				t.Fatalf("%d days, want %d: %v", len(tr.Days), tc.wantDays, tr.Days)
			}
			if got := tr.Days[0].Format(time.DateOnly); got != tc.wantFirst {
				t.Errorf("first day %s, want %s", got, tc.wantFirst)
			}
			if got := total(tr); got != tc.wantTotal {
				t.Errorf("total %v, want %v", got, tc.wantTotal)
			}
			svg := string(tr.SVG())
			empty := strings.Contains(svg, "no traffic in this period")
			if empty != (tc.wantTotal == 0) {
				t.Errorf("chart says empty=%v with total %v", empty, tc.wantTotal)
			}
		})
	}
	tr := Daily("t", pts, keys, "other entities", time.Time{}, time.Time{}, 91, nil)
	if len(tr.Series) != 3 || tr.Series[2].Label != "other entities" || tr.Series[2].Values[2] != 7 {
		t.Errorf("other series = %+v", tr.Series)
	}
	tr = Daily("t", pts[:2], keys, "other entities", time.Time{}, time.Time{}, 91, nil)
	if len(tr.Series) != 2 {
		t.Errorf("an empty other series is drawn: %+v", tr.Series)
	}
}

func TestDailyLongSpanKeepsNewest(t *testing.T) {
	var pts []Point
	for d := day("2026-01-01"); d.Before(day("2026-12-01")); d = d.AddDate(0, 0, 10) {
		pts = append(pts, Point{d, "a", 1})
	}
	tr := Daily("t", pts, []Key{{"a", "A"}}, "other", time.Time{}, time.Time{}, 91, nil)
	if len(tr.Days) != 91 {
		t.Fatalf("%d days, want 91", len(tr.Days))
	}
	if last := tr.Days[len(tr.Days)-1]; !last.Equal(pts[len(pts)-1].Day) {
		t.Errorf("last day %v, want the newest point's %v", last, pts[len(pts)-1].Day)
	}
}
