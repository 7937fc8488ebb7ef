package fleet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/fleettest"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/store"
)

const testPolicy = `
groups:
  - name: byod
    device_tags: [byod]
  - name: legal
    owners: [counsel@example.com]
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
    basis: "PAFACA sec. 2"
    effective: 2026-01-19T00:00:00Z
    warning: 7d
    except:
      groups: [legal]
  - id: wechat-byod
    action: block
    entities: tencent
    groups: byod
    basis: "Company policy 12"
    effective: 2026-03-01T00:00:00Z
  - id: watch-acme
    action: monitor
    entities: acme
`

var (
	tiktokDeadline = time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)
	wechatDeadline = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

func newChecker(t testing.TB, now time.Time, pol string) *fleet.Checker {
	t.Helper()
	ix := fleettest.Index(t)
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(ix); err != nil {
		t.Fatal(err)
	}
	return fleet.New(p, attribute.New(ix), fleet.Config{Now: now})
}

func TestMatch(t *testing.T) {
	at := attribute.New(fleettest.Index(t))
	for _, tc := range []struct {
		name   string
		it     inventory.Item
		entity string // "" no match
		by     string
	}{
		{"android TikTok", inventory.Item{Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok"}, "tiktok-pte", fleet.ByAppID},
		{"android CapCut", inventory.Item{Platform: "android", Kind: "app", AppID: "com.lemon.lvoverseas", Name: "CapCut"}, "bytedance", fleet.ByAppID},
		{"iOS TikTok Ame build", inventory.Item{Platform: "ios", Kind: "app", AppID: "com.ss.iphone.ugc.Ame"}, "tiktok-pte", fleet.ByAppID},
		{"macOS bundle id", inventory.Item{Platform: "macos", Kind: "app", AppID: "com.tencent.xin"}, "tencent", fleet.ByAppID},
		{"new build adds a label", inventory.Item{Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically.beta"}, "tiktok-pte", fleet.ByAppPrefix},
		{"lookalike id, no dot boundary", inventory.Item{Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musicallyfake", Name: "TikTok"}, "", ""},
		{"lookalike name, other id", inventory.Item{Platform: "android", Kind: "app", AppID: "com.fantools.tiktokdownloader", Name: "TikTok"}, "", ""},
		{"windows by publisher", inventory.Item{Platform: "windows", Kind: "program", AppID: "WeChat", Publisher: "Tencent Technology (Shenzhen) Company Limited"}, "tencent", fleet.ByPublisher},
		{"windows publisher case and spacing", inventory.Item{Platform: "windows", Kind: "program", AppID: "CapCut", Publisher: "bytedance  pte. ltd."}, "bytedance", fleet.ByPublisher},
		{"windows lookalike TikTok by someone else", inventory.Item{Platform: "windows", Kind: "program", AppID: "TikTok", Name: "TikTok", Publisher: "TikTok Fan Tools LLC"}, "", ""},
		{"windows program named like an app id", inventory.Item{Platform: "windows", Kind: "program", AppID: "com.zhiliaoapp.musically", Publisher: "Someone Else"}, "", ""},
		{"windows WeChat without publisher", inventory.Item{Platform: "windows", Kind: "program", AppID: "WeChat"}, "", ""},
		{"deb maintainer with address", inventory.Item{Platform: "linux", Kind: "package", AppID: "wemeet", Publisher: "Tencent Meeting <wemeet@tencent.com>"}, "tencent", fleet.ByPublisher},
		{"deb unrelated", inventory.Item{Platform: "linux", Kind: "package", AppID: "curl", Publisher: "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"}, "", ""},
		{"chrome extension by publisher", inventory.Item{Platform: "chrome", Kind: "extension", AppID: "aaaabbbbccccddddeeeeffffgggghhhh", Publisher: "ByteDance Pte. Ltd."}, "bytedance", fleet.ByPublisher},
		{"extension id is not an app id", inventory.Item{Platform: "chrome", Kind: "extension", AppID: "com.zhiliaoapp.musically"}, "", ""},
		{"jamf title only", inventory.Item{Platform: "macos", Kind: "app", AppID: "TikTok.app", Name: "TikTok"}, "", ""},
		{"single label parent never looked up", inventory.Item{Platform: "android", Kind: "app", AppID: "com"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt := fleet.NewMatcher(at, nil)
			for range 2 { // the second time from the cache
				m, ok := mt.Match(&tc.it)
				got := ""
				if ok {
					got = m.Entity.ID
				}
				if got != tc.entity || ok && m.By != tc.by {
					t.Fatalf("Match(%+v) = %q by %q, want %q by %q", tc.it, got, m.By, tc.entity, tc.by)
				}
				if ok && m.By == fleet.ByAppPrefix && m.Confidence > attribute.Medium {
					t.Errorf("prefix match confidence %v, want at most medium", m.Confidence)
				}
			}
		})
	}
}

// fixture devices for the verdict tests.
func addFixture(c *fleet.Checker) {
	removedAt := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	items := []inventory.Item{
		{Device: "R58M000001", Owner: "ann@example.com", Platform: "android", Kind: "app", AppID: "com.android.chrome", Source: "f:1"},
		{Device: "R58M000001", Owner: "ann@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok", Version: "34.5.3", Source: "f:2"},
		{Device: "COUNSEL-PHONE", Owner: "counsel@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Source: "f:3"},
		{Device: "BYOD-PHONE", Owner: "bob@example.com", Platform: "android", Kind: "app", AppID: "com.tencent.mm", Tags: []string{"byod"}, Source: "f:4"},
		{Device: "CORP-PHONE", Owner: "cy@example.com", Platform: "android", Kind: "app", AppID: "com.tencent.mm", Source: "f:5"},
		{Device: "LAPTOP-7", Owner: "dee@example.com", Platform: "windows", Kind: "program", AppID: "CapCut", Publisher: "ByteDance Pte. Ltd.", Seen: removedAt.Add(-time.Hour), Source: "f:6"},
		{Device: "LAPTOP-7", Owner: "dee@example.com", Platform: "windows", Kind: "program", AppID: "CapCut", Publisher: "ByteDance Pte. Ltd.", Removed: true, Seen: removedAt, Source: "f:7"},
		{Device: "LAPTOP-8", Platform: "windows", Kind: "program", AppID: "TikTok", Publisher: "TikTok Fan Tools LLC", Source: "f:8"},
		{Device: "NOTES-PHONE", Platform: "android", Kind: "app", AppID: "com.acme.notes", Source: "f:9"},
		{Device: "US-PHONE", Platform: "android", Kind: "app", AppID: "com.tiktokus.app", Source: "f:10"},
		{Device: "BOTH-PHONE", Platform: "android", Kind: "app", AppID: "com.lemon.lvoverseas", Tags: []string{"byod"}, Source: "f:11"},
		{Device: "BOTH-PHONE", Platform: "android", Kind: "app", AppID: "com.tencent.mm", Tags: []string{"byod"}, Source: "f:12"},
	}
	for i := range items {
		c.Add(&items[i])
	}
}

type row struct {
	Device, App, Entity, Rule string
	Verdict                   string
	Left                      string
	Removed                   bool
}

func rows(r *fleet.Report) []row {
	var out []row
	for _, d := range r.Devices {
		for _, a := range d.Apps {
			out = append(out, row{d.Device, a.AppID, a.Entity, a.Rule, a.Verdict.String(), a.TimeLeft, a.Removed != nil})
		}
	}
	return out
}

func TestVerdictsOverTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		now     time.Time
		want    []row
		summary fleet.Summary
	}{
		{
			// Before the tiktok-ban warning window: still due, the fleet
			// must know early.
			name: "weeks before",
			now:  time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
			want: []row{
				{"BOTH-PHONE", "com.lemon.lvoverseas", "bytedance", "tiktok-ban", "due", "17d12h", false},
				{"BOTH-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "58d12h", false},
				{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-ban", "due", "17d12h", false},
				{"BYOD-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "58d12h", false},
				{"LAPTOP-7", "CapCut", "bytedance", "tiktok-ban", "compliant", "", true},
			},
			summary: fleet.Summary{Devices: 9, Items: 12, Compliant: 6, Due: 3},
		},
		{
			name: "hours before",
			now:  tiktokDeadline.Add(-90 * time.Minute),
			want: []row{
				{"BOTH-PHONE", "com.lemon.lvoverseas", "bytedance", "tiktok-ban", "due", "1h30m", false},
				{"BOTH-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "41d1h", false},
				{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-ban", "due", "1h30m", false},
				{"BYOD-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "41d1h", false},
				{"LAPTOP-7", "CapCut", "bytedance", "tiktok-ban", "compliant", "", true},
			},
			summary: fleet.Summary{Devices: 9, Items: 12, Compliant: 6, Due: 3},
		},
		{
			name: "at the deadline",
			now:  tiktokDeadline,
			want: []row{
				{"BOTH-PHONE", "com.lemon.lvoverseas", "bytedance", "tiktok-ban", "overdue", "", false},
				{"BOTH-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "41d0h", false},
				{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-ban", "overdue", "", false},
				{"BYOD-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "due", "41d0h", false},
				{"LAPTOP-7", "CapCut", "bytedance", "tiktok-ban", "compliant", "", true},
			},
			summary: fleet.Summary{Devices: 9, Items: 12, Compliant: 6, Due: 1, Overdue: 2},
		},
		{
			name: "after both",
			now:  wechatDeadline.Add(time.Second),
			want: []row{
				{"BOTH-PHONE", "com.lemon.lvoverseas", "bytedance", "tiktok-ban", "overdue", "", false},
				{"BOTH-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "overdue", "", false},
				{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-ban", "overdue", "", false},
				{"BYOD-PHONE", "com.tencent.mm", "tencent", "wechat-byod", "overdue", "", false},
				{"LAPTOP-7", "CapCut", "bytedance", "tiktok-ban", "compliant", "", true},
			},
			summary: fleet.Summary{Devices: 9, Items: 12, Compliant: 6, Overdue: 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t, tc.now, testPolicy)
			addFixture(c)
			rep := c.Report()
			if d := cmp.Diff(tc.want, rows(rep)); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
			got := rep.Summary
			got.NextDeadline, got.TimeLeft = nil, ""
			if d := cmp.Diff(tc.summary, got); d != "" {
				t.Errorf("summary (-want +got):\n%s", d)
			}
			if rep.Summary.Concern() != (tc.summary.Due+tc.summary.Overdue > 0) {
				t.Errorf("Concern() = %v", rep.Summary.Concern())
			}
		})
	}
}

func TestRuleSummary(t *testing.T) {
	c := newChecker(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), testPolicy)
	addFixture(c)
	rep := c.Report()
	// tiktok-ban applies to every device but the counsel's (8): BOTH-PHONE
	// and R58M000001 due, the rest compliant. wechat-byod applies to the
	// two byod phones, both due.
	want := []fleet.RuleSummary{
		{Rule: "tiktok-ban", Basis: "PAFACA sec. 2", Deadline: &tiktokDeadline, TimeLeft: "18d0h", Devices: 8, Compliant: 6, Due: 2},
		{Rule: "wechat-byod", Basis: "Company policy 12", Deadline: &wechatDeadline, TimeLeft: "59d0h", Devices: 2, Compliant: 0, Due: 2},
	}
	if d := cmp.Diff(want, rep.Rules); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	if rep.Summary.NextDeadline == nil || !rep.Summary.NextDeadline.Equal(tiktokDeadline) || rep.Summary.TimeLeft != "18d0h" {
		t.Errorf("next deadline %v %q", rep.Summary.NextDeadline, rep.Summary.TimeLeft)
	}
}

func TestReportFields(t *testing.T) {
	c := newChecker(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), testPolicy)
	addFixture(c)
	rep := c.Report()
	var app *fleet.App
	for i := range rep.Devices {
		if rep.Devices[i].Device == "R58M000001" {
			d := &rep.Devices[i]
			if d.Owner != "ann@example.com" || d.Platform != "android" || d.Verdict != fleet.Due || len(d.Apps) != 1 {
				t.Fatalf("device %+v", d)
			}
			app = &d.Apps[0]
		}
	}
	if app == nil {
		t.Fatal("R58M000001 missing")
	}
	want := fleet.App{AppID: "com.zhiliaoapp.musically", Name: "TikTok", Version: "34.5.3", Kind: "app", Entity: "tiktok-pte",
		EntityName: "TikTok Pte. Ltd.", OwnerChain: []string{"tiktok-pte", "bytedance"}, By: fleet.ByAppID, Confidence: "high",
		Catalog: app.Catalog, Rule: "tiktok-ban", Basis: "PAFACA sec. 2", Verdict: fleet.Due, Deadline: &tiktokDeadline,
		TimeLeft: "18d0h", Source: "f:2"}
	if d := cmp.Diff(want, *app); d != "" {
		t.Errorf("app (-want +got):\n%s", d)
	}
	if app.Catalog == "" {
		t.Error("no catalog rule named")
	}
}

func TestAllDevices(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(fleettest.Index(t)), fleet.Config{Now: tiktokDeadline, All: true})
	addFixture(c)
	if n := len(c.Report().Devices); n != 9 {
		t.Errorf("All: %d devices listed, want 9", n)
	}
}

func TestReinstallAfterRemoval(t *testing.T) {
	c := newChecker(t, tiktokDeadline.Add(time.Hour), testPolicy)
	base := inventory.Item{Device: "MBP-1", Platform: "macos", Kind: "app", AppID: "com.zhiliaoapp.musically"}
	for _, rm := range []bool{false, true, false} {
		it := base
		it.Removed = rm
		c.Add(&it)
	}
	rep := c.Report()
	if d := cmp.Diff([]row{{"MBP-1", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-ban", "overdue", "", false}}, rows(rep)); d != "" {
		t.Error(d)
	}
}

func TestBanWithoutDeadline(t *testing.T) {
	ix := fleettest.Index(t)
	p, err := policy.Quick(ix, "tencent")
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: tiktokDeadline})
	addFixture(c)
	rep := c.Report()
	want := []row{
		{"BOTH-PHONE", "com.tencent.mm", "tencent", "block-tencent", "overdue", "", false},
		{"BYOD-PHONE", "com.tencent.mm", "tencent", "block-tencent", "overdue", "", false},
		{"CORP-PHONE", "com.tencent.mm", "tencent", "block-tencent", "overdue", "", false},
	}
	if d := cmp.Diff(want, rows(rep)); d != "" {
		t.Error(d)
	}
	for _, d := range rep.Devices {
		if d.Apps[0].Deadline != nil {
			t.Errorf("%s: deadline %v, want none", d.Device, d.Apps[0].Deadline)
		}
	}
}

func TestMalformedCounted(t *testing.T) {
	c := newChecker(t, tiktokDeadline, testPolicy)
	visit, in := c.Visitor("phones.txt")
	_ = visit(inventory.Item{}, &inventory.ParseError{Format: "android", File: "phones.txt", Line: 7, Err: errors.New("not a package line")})
	_ = visit(inventory.Item{Device: "X", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically"}, nil)
	rep := c.Report()
	if in.Items != 1 || in.Malformed != 1 || rep.Summary.Malformed != 1 || rep.Summary.Overdue != 1 {
		t.Fatalf("input %+v summary %+v", in, rep.Summary)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "phones.txt:7") {
		t.Errorf("problems %q", rep.Problems)
	}
}

type contacts []fleet.Contact

func (cs contacts) Contacts(_ context.Context, since time.Time) ([]fleet.Contact, error) {
	var out []fleet.Contact
	for _, c := range cs {
		if !c.Last.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func TestTrafficAfterDeadline(t *testing.T) {
	now := time.Date(2026, 1, 25, 0, 0, 0, 0, time.UTC)
	c := newChecker(t, now, testPolicy)
	addFixture(c)
	for _, it := range []inventory.Item{
		{Device: "SN-CLEAN", DeviceName: "mbp-carol", Platform: "macos", Kind: "app", AppID: "com.google.Chrome"},
		{Device: "SN-EARLY", DeviceName: "mbp-eve", Platform: "macos", Kind: "app", AppID: "com.google.Chrome"},
		{Device: "SN-HOSTED", DeviceName: "mbp-hal", Platform: "macos", Kind: "app", AppID: "com.google.Chrome"},
	} {
		c.Add(&it)
	}
	src := contacts{
		// Inventory clean, but the store saw ByteDance traffic after the deadline.
		{Device: "10.1.2.3", Name: "MBP-CAROL.corp.example", Entity: "bytedance", Last: tiktokDeadline.Add(48 * time.Hour), Via: "dns"},
		// Before the deadline: nothing to flag.
		{Device: "mbp-eve", Entity: "tiktok-pte", Last: tiktokDeadline.Add(-time.Hour), Via: "flows"},
		// Removed on Jan 10, traffic to TikTok after the deadline.
		{Device: "laptop-7", Entity: "tiktok-pte", Last: tiktokDeadline.Add(time.Hour), Via: "flows"},
		// Still installed: traffic is more evidence, the verdict stays overdue.
		{Device: "R58M000001", Entity: "tiktok-pte", Last: tiktokDeadline.Add(2 * time.Hour), Via: "flows"},
		// Only a host role: the rule does not say hosted.
		{Device: "mbp-hal", Entity: "alibaba-cloud", Role: "host", Last: now, Via: "flows"},
		// Excepted group.
		{Device: "COUNSEL-PHONE", Entity: "bytedance", Last: now, Via: "flows"},
		// Not in the inventory.
		{Device: "192.0.2.9", Entity: "bytedance", Last: now, Via: "flows"},
	}
	if err := c.LoadTraffic(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	type flag struct {
		Device, App, Verdict, Entity, Via string
		Flagged                           bool
	}
	var got []flag
	for _, d := range rep.Devices {
		for _, a := range d.Apps {
			if a.Traffic != nil {
				got = append(got, flag{d.Device, a.AppID, a.Verdict.String(), a.Traffic.Entity, a.Traffic.Via, d.Flagged})
			}
		}
	}
	want := []flag{
		{"R58M000001", "com.zhiliaoapp.musically", "overdue", "tiktok-pte", "flows", true},
		{"LAPTOP-7", "CapCut", "compliant", "tiktok-pte", "flows", true},
		{"SN-CLEAN", "", "compliant", "bytedance", "dns", true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	if rep.Summary.Flagged != 3 || rep.Rules[0].Flagged != 3 {
		t.Errorf("flagged: summary %d, rule %d; want 3", rep.Summary.Flagged, rep.Rules[0].Flagged)
	}
	if !rep.Summary.Concern() {
		t.Error("flags must be a concern")
	}
}

func TestTrafficNotAskedBeforeAnyDeadline(t *testing.T) {
	c := newChecker(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), testPolicy)
	if _, ok := c.TrafficSince(); ok {
		t.Error("TrafficSince ok before every deadline")
	}
	c.SetNow(wechatDeadline)
	if s, ok := c.TrafficSince(); !ok || !s.Equal(tiktokDeadline) {
		t.Errorf("TrafficSince = %v, %v; want %v", s, ok, tiktokDeadline)
	}
}

// fakeReader is a store.Reader with only the two methods the fleet
// check reads (the SQLite backend is not written yet).
type fakeReader struct {
	store.Reader
	devices []store.DeviceSummary
	overdue []store.OverdueClient
	filters []store.Filter
}

func (f *fakeReader) Devices(_ context.Context, fl store.Filter) ([]store.DeviceSummary, error) {
	f.filters = append(f.filters, fl)
	lo := min(fl.Offset, len(f.devices))
	hi := min(lo+fl.Limit, len(f.devices))
	return f.devices[lo:hi], nil
}

func (f *fakeReader) Overdue(_ context.Context, fl store.Filter) ([]store.OverdueClient, error) {
	f.filters = append(f.filters, fl)
	return f.overdue, nil
}

func TestStoreTraffic(t *testing.T) {
	since := tiktokDeadline
	last := since.Add(time.Hour)
	r := &fakeReader{
		devices: []store.DeviceSummary{
			{Device: store.Device{ID: "10.0.0.1", Name: "a"}, Exposures: []store.Exposure{{Entity: "bytedance", Role: "app-owner", Last: last}, {Entity: "x", Last: since.Add(-time.Hour)}}},
			{Device: store.Device{ID: "10.0.0.2"}, Exposures: []store.Exposure{{Entity: "tiktok-pte", Last: last}}},
			{Device: store.Device{ID: "10.0.0.3"}, Exposures: []store.Exposure{{Entity: "tencent", Last: last}}},
		},
		overdue: []store.OverdueClient{{Client: "10.0.0.9", Name: "b", Entities: []string{"bytedance", "tiktok-pte"}, Last: last}},
	}
	got, err := fleet.StoreTraffic{R: r, PageSize: 2}.Contacts(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.Contact{
		{Device: "10.0.0.1", Name: "a", Entity: "bytedance", Role: "app-owner", Last: last, Via: "flows"},
		{Device: "10.0.0.2", Entity: "tiktok-pte", Last: last, Via: "flows"},
		{Device: "10.0.0.3", Entity: "tencent", Last: last, Via: "flows"},
		{Device: "10.0.0.9", Name: "b", Entity: "bytedance", Last: last, Via: "dns"},
		{Device: "10.0.0.9", Name: "b", Entity: "tiktok-pte", Last: last, Via: "dns"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("contacts (-want +got):\n%s", d)
	}
	// Two pages of Devices, then Overdue; every call from the deadline.
	if len(r.filters) != 3 || r.filters[1].Offset != 2 {
		t.Errorf("filters %+v", r.filters)
	}
	for _, f := range r.filters {
		if !f.Since.Equal(since) {
			t.Errorf("filter since %v", f.Since)
		}
	}
}

func TestBatch(t *testing.T) {
	c := newChecker(t, tiktokDeadline, testPolicy)
	addFixture(c)
	rep := c.Report()
	b := c.Batch(rep)
	if len(b.Devices) != 9 {
		t.Errorf("%d devices, want every one (9)", len(b.Devices))
	}
	type inv struct{ Device, App, Entity, Verdict, Rule string }
	var got []inv
	for _, it := range b.Inventory {
		got = append(got, inv{it.Device, it.App, it.Entity, it.Verdict, it.Rule})
	}
	want := []inv{
		{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "overdue", "tiktok-ban"},
		{"BYOD-PHONE", "com.tencent.mm", "tencent", "due", "wechat-byod"},
		{"LAPTOP-7", "CapCut", "bytedance", "removed", "tiktok-ban"},
		{"BOTH-PHONE", "com.lemon.lvoverseas", "bytedance", "overdue", "tiktok-ban"},
		{"BOTH-PHONE", "com.tencent.mm", "tencent", "due", "wechat-byod"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("inventory rows (-want +got):\n%s", d)
	}
	var ents []string
	for _, e := range b.Entities {
		ents = append(ents, e.ID+":"+e.Jurisdiction)
	}
	if d := cmp.Diff([]string{"tiktok-pte:CN", "tencent:CN", "bytedance:CN"}, ents); d != "" {
		t.Errorf("entities (-want +got):\n%s", d)
	}
	if len(b.Rules) != 3 || b.Rules[0].ID != "tiktok-ban" || !b.Rules[0].Deadline.Equal(tiktokDeadline) || b.Rules[0].Action != "block" {
		t.Errorf("rules %+v", b.Rules)
	}
}

func TestLeft(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""}, {-time.Hour, ""}, {20 * time.Second, "<1m"}, {12 * time.Minute, "12m"},
		{5*time.Hour + 20*time.Minute, "5h20m"}, {76 * time.Hour, "3d4h"},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := fleet.Left(tc.d); got != tc.want {
				t.Errorf("Left(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
