package storehtml_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/demo"
	"github.com/outflow-dev/outflow/internal/report/storehtml"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/querylogsink"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// demoStore fills a store the way outflow does: two weeks of the demo
// office (one capture a day, scanned with --store), the resolver's query
// log of the same devices (TikTok banned from day 7, WeChat due on day
// 30), and an app audit.
func demoStore(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := base.Add(14 * 24 * time.Hour)
	ix, err := catalog.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenWith(ctx, store.Config{Path: filepath.Join(dir, "outflow.db")}, nil, sqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	feed := scanfeed.New(ctx, db, "demo")
	cfg := scan.DefaultConfig()
	cfg.OnFlow = feed.Flow
	s := scan.New(cfg, attribute.New(ix))
	for day := range 14 {
		p := filepath.Join(dir, "demo.pcap")
		var buf bytes.Buffer
		if _, err := demo.Write(&buf, demo.Options{Start: base.Add(time.Duration(day) * 24 * time.Hour), Scale: 1 + day%3, Seed: int64(day)}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.ReadFile(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := feed.Close(s.Finish(now)); err != nil {
		t.Fatal(err)
	}
	banned := base.Add(7 * 24 * time.Hour)
	due := base.Add(30 * 24 * time.Hour)
	if err := db.Write(ctx, &store.Batch{Rules: []store.Rule{
		{ID: "no-bytedance", Action: "block", Basis: "board decision 2026-02-20", Deadline: banned, Entities: []string{"bytedance"}},
		{ID: "no-wechat", Action: "block", Basis: "security policy 4.2", Deadline: due, Entities: []string{"tencent"}},
	}}); err != nil {
		t.Fatal(err)
	}
	var entries []querylog.Entry
	add := func(at time.Time, client, group, name, verdict, rule, entity string, deadline time.Time) {
		e := querylog.Entry{Time: at, Client: netip.MustParseAddr(client), Proto: "udp", Group: group, Type: 1, Verdict: verdict,
			Rule: rule, Entity: entity, Deadline: deadline, Latency: time.Millisecond}
		if verdict == "block" {
			e.RCode = 3
			e.Reason = "qname"
		}
		e.SetName([]byte(name))
		entries = append(entries, e)
	}
	for day := range 14 {
		at := base.Add(time.Duration(day)*24*time.Hour + 30*time.Minute)
		v := "due"
		if !at.Before(banned) {
			v = "block"
		}
		for i := range 3 + day%4 {
			add(at.Add(time.Duration(i)*time.Minute), "192.168.50.10", "staff", "www.tiktok.com", v, "no-bytedance", "tiktok", banned)
			add(at.Add(time.Duration(i)*time.Minute+time.Second), "192.168.50.10", "staff", "log.tiktokv.com", v, "no-bytedance", "tiktok", banned)
		}
		add(at.Add(5*time.Minute), "192.168.50.11", "guests", "weixin.qq.com", "due", "no-wechat", "tencent", due)
		add(at.Add(6*time.Minute), "192.168.50.20", "finance", "www.wikipedia.org", "allow", "", "", time.Time{})
	}
	if err := querylogsink.New(db).Write(entries); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, &store.Batch{Audits: []store.Audit{{Time: base.Add(3 * 24 * time.Hour), Device: "192.168.50.10", App: "com.zhiliaoapp.musically",
		Version: "37.2.4", Label: "TikTok", Entity: "tiktok", Verdict: "block", Findings: []store.Finding{
			{Rule: "entity-app", Severity: "high", Category: "entity", Title: "App published by TikTok Pte. Ltd.", Entity: "tiktok"},
			{Rule: "sdk-bytedance-applog", Severity: "high", Category: "entity", Title: "ByteDance AppLog SDK", Entity: "bytedance"},
			{Rule: "perm-contacts", Severity: "medium", Category: "personal-data", Title: "Reads contacts"},
		}}}}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReport(t *testing.T) {
	db := demoStore(t)
	ctx := context.Background()
	now := base.Add(14 * 24 * time.Hour)
	// A change of the policy in the period, and one after it.
	for _, c := range []store.PolicyChange{
		{Time: base.Add(6 * 24 * time.Hour), User: "ana", Comment: "ban TikTok from day 7", File: "policy.yaml",
			Before: "", After: "rules: ...\n", Diff: "--- policy.yaml\n+++ policy.yaml\n@@ -0,0 +1 @@\n+  - id: no-bytedance\n"},
		{Time: now.Add(time.Hour), User: "bo", Comment: "after the period", File: "policy.yaml"},
	} {
		if err := db.WritePolicyChange(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	d, err := storehtml.Collect(ctx, db, store.Filter{Since: base.Add(-24 * time.Hour), Until: now}, "Data flows to entities of concern", "store demo", now)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := storehtml.Write(&buf, d); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if p := os.Getenv("OUTFLOW_REPORT_HTML"); p != "" {
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		"TikTok Pte. Ltd.", "ana-laptop", "192.168.50.10", // the TikTok laptop
		"no-bytedance", "www.tiktok.com", // it kept asking after the deadline
		"no-wechat", "2026-04-01", // due
		"com.zhiliaoapp.musically", "high 2",
		`<svg class="worldmap"`, `<svg class="chart trend"`, `<svg class="chart bars"`, "China (CN)",
		"KiB", `class="legend"`,
		"SG — controlled from CN", "bis-entity-list(unverified)", "Produced by outflow ",
		"tls-sni www.tiktok.com", "by tls-sni apiieu.hik-connect.com", // evidence behind exposures
		"@media print",
		"Changes of the policy", "ban TikTok from day 7", "&#43;  - id: no-bytedance", // the policy's history
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched (the only URL is the SVG namespace).
	for _, m := range regexp.MustCompile(`(?:src|href)\s*=\s*["']?([a-z]+:)?//`).FindAllString(html, -1) {
		t.Errorf("report refers to something outside: %s", m)
	}
	if strings.Contains(html, "after the period") {
		t.Error("a policy change after the period is in the report")
	}
	if strings.Contains(html, "<script") {
		t.Error("report has a script")
	}
	// The dashboard's units: binary, never kB or MB.
	if m := regexp.MustCompile(`\d (kB|MB|GB)\b`).FindString(html); m != "" {
		t.Errorf("report writes decimal units: %q", m)
	}
	// The trend has a bar for each day with bytes, and says "no traffic"
	// only when there is none.
	if strings.Contains(html, "no traffic in this period") {
		t.Error("the trend says no traffic while the cards have bytes")
	}
	if n := strings.Count(html, "<title>2026-03-"); n < 14 {
		t.Errorf("trend has %d day bars, want one or more for each of 14 days", n)
	}
	// The TikTok laptop is overdue; the phone is only due.
	if len(d.Overdue) != 1 || d.Overdue[0].Client != "192.168.50.10" || d.Overdue[0].Queries == 0 {
		t.Errorf("overdue %+v", d.Overdue)
	}
	if len(d.Due) != 1 || d.Due[0].Rule.ID != "no-wechat" || d.Due[0].NClients != 1 {
		t.Errorf("due %+v", d.Due)
	}
	// The owner map colours China (TikTok's owner is ByteDance), not
	// Singapore, where TikTok Pte. Ltd. is incorporated.
	cn, sg := false, false
	for _, a := range d.Overview.ByJurisdiction {
		cn = cn || a.Country == "CN"
		sg = sg || a.Country == "SG"
	}
	if !cn || sg {
		t.Errorf("owner jurisdictions %+v", d.Overview.ByJurisdiction)
	}
}

func TestReportEmpty(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "e.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := storehtml.Collect(ctx, db, store.Filter{}, "Empty", "store", base)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := storehtml.Write(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No traffic to entities of concern in the period.") {
		t.Error("an empty store does not say so")
	}
}
