package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

func TestThousands(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestUntil(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "in force"}, {now.Add(-49 * time.Hour), "2 days overdue"}, {now.Add(-25 * time.Hour), "1 day overdue"},
		{now.Add(-time.Hour), "passed today"}, {now.Add(3 * time.Hour), "due today"},
		{now.Add(30 * time.Hour), "1 day left"}, {now.Add(30 * 24 * time.Hour), "30 days left"},
	} {
		if got := until(tc.t, now); got != tc.want {
			t.Errorf("until(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestQuery(t *testing.T) {
	base := url.Values{"period": {"week"}, "entity": {"tiktok"}}
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{nil, "?entity=tiktok&period=week"},
		{[]string{"period", ""}, "?entity=tiktok"},
		{[]string{"name", "a&b"}, "?entity=tiktok&name=a%26b&period=week"},
	} {
		if got := string(query(base, tc.kv...)); got != tc.want {
			t.Errorf("query(%v) = %q, want %q", tc.kv, got, tc.want)
		}
	}
	if query(url.Values{}) != "" {
		t.Error("empty query is not empty")
	}
	if base.Get("name") != "" || base.Get("period") != "week" {
		t.Error("query changed its base")
	}
}

func TestPeriod(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	latest := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		q            string
		since, until time.Time
		name         string
		latest       bool
	}{
		{"", latest.Add(-30 * 24 * time.Hour), latest, "month", true},
		{"period=week", latest.Add(-7 * 24 * time.Hour), latest, "week", true},
		{"period=all", time.Time{}, latest, "all", true},
		{"since=2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), latest, "custom", true},
		{"since=2026-02-01&until=2026-02-10", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), "custom", false},
		{"period=day&until=2026-03-05T10:00:00Z", time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC), "day", false},
	} {
		t.Run(tc.q, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.q)
			p, err := s.period(t.Context(), q, "month")
			if err != nil {
				t.Fatal(err)
			}
			if !p.Since.Equal(tc.since) || !p.Until.Equal(tc.until) || p.Name != tc.name || p.Latest != tc.latest {
				t.Fatalf("period %+v, want %v to %v (%s, latest %v)", p, tc.since, tc.until, tc.name, tc.latest)
			}
		})
	}
}

// The compliance page counts devices per rule in fleet check's words; an
// app still installed under a rule that only watches (compliant) is not
// "removed".
func TestComplianceByRule(t *testing.T) {
	inv := []store.InventoryItem{
		{Device: "a", App: "tiktok", Rule: "ban", Verdict: "overdue"},
		{Device: "a", App: "tiktok-lite", Rule: "ban", Verdict: "overdue"}, // same device, counted once
		{Device: "b", App: "tiktok", Rule: "ban", Verdict: "due"},
		{Device: "c", App: "tiktok", Rule: "ban", Verdict: "removed"},
		{Device: "d", App: "wechat", Rule: "watch", Verdict: "compliant"},
	}
	got := complianceByRule(inv, nil)
	want := map[string][3]int{"ban": {1, 1, 1}, "watch": {0, 0, 0}}
	if len(got) != len(want) {
		t.Fatalf("rules %+v", got)
	}
	for _, rc := range got {
		if w := want[rc.Rule]; [3]int{rc.Overdue, rc.Due, rc.Removed} != w {
			t.Errorf("%s: overdue/due/removed %d/%d/%d, want %v", rc.Rule, rc.Overdue, rc.Due, rc.Removed, w)
		}
	}
}
