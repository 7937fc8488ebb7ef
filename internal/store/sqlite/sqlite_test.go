package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func openTest(t testing.TB, now time.Time) *DB {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "outflow.db")
	cfg.Retention, cfg.RollupRetention, cfg.MaxSize = 0, 0, 0
	db, err := OpenWith(context.Background(), cfg, nil, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fixture is a small store: a laptop talking to TikTok and asking for
// banned names after the deadline, a phone with a due rule, an audit and
// inventory rows.
func fixture() *store.Batch {
	ev := []store.Evidence{{Kind: "tls-sni", Value: "v16-webapp.tiktok.com", Rule: "tiktok.com", Source: "bytedance-domains"}}
	return &store.Batch{
		Entities: []store.Entity{
			{ID: "bytedance", Name: "ByteDance Ltd.", Jurisdiction: "cn", Lists: []string{"us-fcc-covered"}},
			{ID: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "SG", OwnerChain: []string{"tiktok", "bytedance"}, Lists: []string{"us-fcc-covered"}},
			{ID: "xiaomi", Name: "Xiaomi Corp.", Jurisdiction: "CN"},
		},
		Devices: []store.Device{{ID: "10.0.0.5", MAC: "aa:bb:cc:00:00:05", Name: "laptop-7", Group: "staff"}},
		Rules: []store.Rule{
			{ID: "ban-bytedance", Action: "block", Basis: "board decision 2026-01", Deadline: t0.Add(-48 * time.Hour), Entities: []string{"bytedance"}},
			{ID: "xiaomi-2026", Action: "block", Deadline: t0.Add(30 * 24 * time.Hour), Entities: []string{"xiaomi"}},
		},
		Flows: []store.Flow{
			{First: t0.Add(5 * time.Minute), Last: t0.Add(6 * time.Minute), Device: "10.0.0.5", Proto: "tcp", Peer: "203.0.113.7", Port: 443,
				Name: "v16-webapp.tiktok.com", Entity: "tiktok", Role: "owner", Host: "akamai", HostCountry: "us",
				Traffic: store.Traffic{BytesOut: 1000, BytesIn: 5000, PacketsOut: 10, PacketsIn: 12, Flows: 1}, Evidence: ev},
			{First: t0.Add(70 * time.Minute), Last: t0.Add(80 * time.Minute), Device: "10.0.0.5", Proto: "tcp", Peer: "203.0.113.8", Port: 443,
				Name: "log.tiktokv.com", Entity: "tiktok", Role: "owner", Host: "akamai", HostCountry: "US",
				Traffic: store.Traffic{BytesOut: 300, BytesIn: 100, PacketsOut: 3, PacketsIn: 2, Flows: 2}, Evidence: ev},
			{First: t0.Add(7 * time.Minute), Last: t0.Add(8 * time.Minute), Device: "10.0.0.5", Proto: "udp", Peer: "2001:db8::1", Port: 443,
				Name: "www.example.org", Traffic: store.Traffic{BytesOut: 50, BytesIn: 60, PacketsOut: 1, PacketsIn: 1, Flows: 1}},
			{First: t0.Add(26 * time.Hour), Last: t0.Add(26 * time.Hour), Device: "10.0.0.9", Group: "guests", Proto: "tcp", Peer: "198.51.100.1", Port: 443,
				Name: "api.io.mi.com", Entity: "xiaomi", Role: "owner", Host: "amazon", HostCountry: "DE",
				Traffic:  store.Traffic{BytesOut: 7000, BytesIn: 100, PacketsOut: 9, PacketsIn: 3, Flows: 1},
				Evidence: []store.Evidence{{Kind: "dns-answer", Value: "api.io.mi.com", Rule: "mi.com"}}},
		},
		Queries: []store.Query{
			{Time: t0.Add(1 * time.Minute), Client: "10.0.0.5", Group: "staff", Name: "v16-webapp.tiktok.com", Type: 1, Verdict: "block", Rule: "ban-bytedance", Entity: "tiktok", Reason: "qname", Deadline: t0.Add(-48 * time.Hour)},
			{Time: t0.Add(2 * time.Minute), Client: "10.0.0.5", Group: "staff", Name: "log.tiktokv.com", Type: 1, Verdict: "block", Rule: "ban-bytedance", Entity: "tiktok", Reason: "qname", Deadline: t0.Add(-48 * time.Hour)},
			{Time: t0.Add(3 * time.Minute), Client: "10.0.0.5", Group: "staff", Name: "www.example.org", Type: 28, Verdict: "allow", Latency: 1500 * time.Microsecond, Cached: true},
			{Time: t0.Add(25 * time.Hour), Client: "10.0.0.9", Group: "guests", Name: "api.io.mi.com", Type: 1, Verdict: "due", Rule: "xiaomi-2026", Entity: "xiaomi", Reason: "qname", Deadline: t0.Add(30 * 24 * time.Hour)},
		},
		Audits: []store.Audit{{Time: t0.Add(2 * time.Hour), Device: "10.0.0.9", App: "com.xiaomi.smarthome", Version: "9.1", Label: "Mi Home", Entity: "xiaomi", Verdict: "block",
			Findings: []store.Finding{{Rule: "entity-owner", Severity: "high", Category: "entity", Title: "App by Xiaomi", Entity: "xiaomi", Evidence: []string{"package com.xiaomi.smarthome"}},
				{Rule: "perm-location", Severity: "medium", Title: "Reads location"}}}},
		Inventory: []store.InventoryItem{
			{Device: "10.0.0.9", Group: "guests", App: "com.xiaomi.smarthome", Version: "9.1", Entity: "xiaomi", Verdict: "due", Rule: "xiaomi-2026", Seen: t0.Add(3 * time.Hour), Source: "adb"},
			{Device: "10.0.0.5", Group: "staff", App: "org.mozilla.firefox", Seen: t0.Add(3 * time.Hour), Source: "adb"},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(48 * time.Hour)
	db := openTest(t, now)
	b := fixture()
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if b.Audits[0].ID == 0 {
		t.Error("audit ID not set after write")
	}

	t.Run("overview", func(t *testing.T) {
		ov, err := db.Overview(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ov.Entities) != 2 || ov.Entities[0].Entity.ID != "xiaomi" || ov.Entities[1].Entity.ID != "tiktok" {
			t.Fatalf("entities %+v", ov.Entities)
		}
		tk := ov.Entities[1]
		if want := (store.Traffic{BytesOut: 1300, BytesIn: 5100, PacketsOut: 13, PacketsIn: 14, Flows: 3}); tk.Period != want {
			t.Errorf("tiktok period %+v, want %+v", tk.Period, want)
		}
		if tk.Entity.Jurisdiction != "SG" || tk.Devices != 1 || tk.Queries != 2 || tk.Blocked != 2 {
			t.Errorf("tiktok %+v", tk)
		}
		// now is t0+48h: the tiktok flows (t0, t0+1h) are outside the last day, xiaomi's (t0+26h) inside
		if tk.Day.BytesOut != 0 || ov.Entities[0].Day.BytesOut != 7000 || tk.Week.BytesOut != 1300 {
			t.Errorf("windows: tiktok day %d week %d, xiaomi day %d", tk.Day.BytesOut, tk.Week.BytesOut, ov.Entities[0].Day.BytesOut)
		}
		if ov.Devices != 2 || ov.DevicesSeen != 2 || ov.Queries != 4 || ov.QueriesBlocked != 2 {
			t.Errorf("devices %d seen %d queries %d blocked %d", ov.Devices, ov.DevicesSeen, ov.Queries, ov.QueriesBlocked)
		}
		if ov.Other.BytesOut != 50 || ov.Concern.BytesOut != 8300 {
			t.Errorf("other %+v concern %+v", ov.Other, ov.Concern)
		}
		wantJ := []store.AreaTotal{
			{Country: "CN", Entities: []string{"xiaomi"}, Devices: 1, Traffic: store.Traffic{BytesOut: 7000, BytesIn: 100, PacketsOut: 9, PacketsIn: 3, Flows: 1}},
			{Country: "SG", Entities: []string{"tiktok"}, Devices: 1, Traffic: store.Traffic{BytesOut: 1300, BytesIn: 5100, PacketsOut: 13, PacketsIn: 14, Flows: 3}},
		}
		if diff := cmp.Diff(wantJ, ov.ByJurisdiction); diff != "" {
			t.Errorf("by jurisdiction (-want +got):\n%s", diff)
		}
		if len(ov.ByHost) != 2 || ov.ByHost[0].Host != "amazon" || ov.ByHost[0].Country != "DE" || ov.ByHost[1].Country != "US" {
			t.Errorf("by host %+v", ov.ByHost)
		}
		if len(ov.Trend) != 2 || !ov.Trend[0].Day.Equal(t0.Truncate(24*time.Hour)) || ov.Trend[0].Entity != "tiktok" {
			t.Errorf("trend %+v", ov.Trend)
		}
	})

	t.Run("devices", func(t *testing.T) {
		ds, err := db.Devices(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].Device.ID != "10.0.0.9" || ds[1].Device.ID != "10.0.0.5" {
			t.Fatalf("devices %+v", ds)
		}
		lap := ds[1]
		if lap.Device.Name != "laptop-7" || lap.Device.Group != "staff" || lap.Queries != 3 || lap.Blocked != 2 || lap.Total.BytesOut != 1350 {
			t.Errorf("laptop %+v", lap)
		}
		if len(lap.Exposures) != 1 || lap.Exposures[0].Entity != "tiktok" || lap.Exposures[0].Role != "owner" || lap.Exposures[0].Flows != 3 ||
			!lap.Exposures[0].First.Equal(t0.Add(5*time.Minute)) || !lap.Exposures[0].Last.Equal(t0.Add(80*time.Minute)) {
			t.Errorf("laptop exposures %+v", lap.Exposures)
		}
		g, err := db.Devices(ctx, store.Filter{Groups: []string{"guests"}})
		if err != nil || len(g) != 1 || g[0].Device.ID != "10.0.0.9" {
			t.Errorf("group guests: %+v %v", g, err)
		}
	})

	t.Run("device", func(t *testing.T) {
		dd, err := db.Device(ctx, "10.0.0.5", store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(dd.Exposures) != 1 || len(dd.Exposures[0].Evidence) != 1 || dd.Exposures[0].Evidence[0].Value != "v16-webapp.tiktok.com" ||
			dd.Exposures[0].Evidence[0].Source != "bytedance-domains" {
			t.Errorf("evidence %+v", dd.Exposures)
		}
		if len(dd.Names) != 3 || dd.Names[0].Name != "v16-webapp.tiktok.com" || dd.Names[0].BytesOut != 1000 || dd.Names[0].Queries != 1 || dd.Names[0].Blocked != 1 {
			t.Errorf("names %+v", dd.Names)
		}
		if len(dd.Blocked) != 1 || dd.Blocked[0].Queries != 2 || dd.Blocked[0].Rule != "ban-bytedance" {
			t.Errorf("blocked %+v", dd.Blocked)
		}
		if len(dd.Inventory) != 1 || dd.Inventory[0].App != "org.mozilla.firefox" {
			t.Errorf("inventory %+v", dd.Inventory)
		}
		if _, err := db.Device(ctx, "10.9.9.9", store.Filter{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown device: %v", err)
		}
	})

	t.Run("flows", func(t *testing.T) {
		fs, err := db.Flows(ctx, store.Filter{Devices: []string{"10.0.0.5"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 3 || fs[0].Name != "log.tiktokv.com" || fs[0].Flows != 2 || !fs[0].Hour.Equal(t0.Add(time.Hour)) {
			t.Fatalf("flows %+v", fs)
		}
		want := store.Flow{Hour: t0, First: t0.Add(7 * time.Minute), Last: t0.Add(8 * time.Minute), Device: "10.0.0.5", Proto: "udp",
			Peer: "2001:db8::1", Port: 443, Name: "www.example.org", Traffic: store.Traffic{BytesOut: 50, BytesIn: 60, PacketsOut: 1, PacketsIn: 1, Flows: 1}}
		if diff := cmp.Diff(want, fs[1]); diff != "" {
			t.Errorf("flow (-want +got):\n%s", diff)
		}
		for _, tc := range []struct {
			name string
			f    store.Filter
			want int
		}{
			{"entity", store.Filter{Entities: []string{"tiktok"}}, 2},
			{"parent entity", store.Filter{Entities: []string{"bytedance"}}, 2},
			{"list", store.Filter{Lists: []string{"us-fcc-covered"}}, 2},
			{"concern", store.Filter{Concern: true}, 3},
			{"name suffix", store.Filter{Names: []string{"tiktok.com"}}, 1},
			{"period", store.Filter{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}, 1},
			{"all", store.Filter{}, 4},
			{"limit", store.Filter{Limit: 2}, 2},
			{"offset", store.Filter{Offset: 3}, 1},
			{"unknown device", store.Filter{Devices: []string{"nope"}}, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fs, err := db.Flows(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(fs) != tc.want {
					t.Errorf("got %d flows, want %d: %+v", len(fs), tc.want, fs)
				}
			})
		}
	})

	t.Run("queries", func(t *testing.T) {
		qs, err := db.Queries(ctx, store.Filter{Verdicts: []string{"block"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 2 || qs[0].Name != "log.tiktokv.com" || qs[0].Rule != "ban-bytedance" || !qs[0].Deadline.Equal(t0.Add(-48*time.Hour)) {
			t.Fatalf("queries %+v", qs)
		}
		all, err := db.Queries(ctx, store.Filter{Devices: []string{"10.0.0.5"}})
		if err != nil || len(all) != 3 || all[0].Latency != 1500*time.Microsecond || !all[0].Cached || all[0].Type != 28 {
			t.Errorf("client queries %+v %v", all, err)
		}
	})

	t.Run("names", func(t *testing.T) {
		ns, err := db.Names(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		// without a device: names of entities of concern only
		if len(ns) != 3 || ns[0].Name != "api.io.mi.com" || ns[0].Queries != 1 || ns[0].BytesOut != 7000 {
			t.Errorf("names %+v", ns)
		}
		ns, err = db.Names(ctx, store.Filter{Names: []string{"example.org"}})
		if err != nil || len(ns) != 1 || ns[0].Queries != 1 || ns[0].BytesOut != 50 {
			t.Errorf("names example.org %+v %v", ns, err)
		}
	})

	t.Run("enforcement", func(t *testing.T) {
		bl, err := db.Blocked(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		want := []store.BlockedCount{{Rule: "ban-bytedance", Group: "staff", Entities: []string{"tiktok"}, Queries: 2, Clients: 1,
			First: t0.Add(time.Minute), Last: t0.Add(2 * time.Minute)}}
		if diff := cmp.Diff(want, bl); diff != "" {
			t.Errorf("blocked (-want +got):\n%s", diff)
		}
		od, err := db.Overdue(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		wantO := []store.OverdueClient{{Client: "10.0.0.5", Name: "laptop-7", Group: "staff", Rule: "ban-bytedance", Deadline: t0.Add(-48 * time.Hour),
			Entities: []string{"tiktok"}, Queries: 2, First: t0.Add(time.Minute), Last: t0.Add(2 * time.Minute),
			Names: []string{"log.tiktokv.com", "v16-webapp.tiktok.com"}}}
		if diff := cmp.Diff(wantO, od); diff != "" {
			t.Errorf("overdue (-want +got):\n%s", diff)
		}
		due, err := db.Due(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 || due[0].Rule.ID != "xiaomi-2026" || due[0].Queries != 1 || due[0].NClients != 1 || due[0].Clients[0] != "10.0.0.9" ||
			due[0].Apps != 1 || due[0].Entities[0] != "xiaomi" {
			t.Errorf("due %+v", due)
		}
	})

	t.Run("audits", func(t *testing.T) {
		as, err := db.Audits(ctx, store.Filter{})
		if err != nil || len(as) != 1 || as[0].Findings != 2 || as[0].BySeverity["high"] != 1 || as[0].Device != "10.0.0.9" {
			t.Fatalf("audits %+v %v", as, err)
		}
		a, err := db.Audit(ctx, as[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Findings) != 2 || a.Findings[0].Entity != "xiaomi" || a.Findings[0].Evidence[0] != "package com.xiaomi.smarthome" {
			t.Errorf("audit %+v", a)
		}
		if _, err := db.Audit(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing audit: %v", err)
		}
	})

	t.Run("search", func(t *testing.T) {
		for _, tc := range []struct{ q, kind, key string }{
			{"tiktok", "entity", "tiktok"}, {"laptop", "device", "10.0.0.5"}, {"fcc", "list", "us-fcc-covered"},
			{"xiaomi-2026", "rule", "xiaomi-2026"}, {"smarthome", "app", "com.xiaomi.smarthome"}, {"mi.com", "name", "api.io.mi.com"},
		} {
			hs, err := db.Search(ctx, tc.q, 20)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, h := range hs {
				found = found || h.Kind == tc.kind && h.Key == tc.key
			}
			if !found {
				t.Errorf("search %q: no %s %s in %+v", tc.q, tc.kind, tc.key, hs)
			}
		}
	})

	t.Run("info", func(t *testing.T) {
		in, err := db.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if in.Flows != 5 || in.Queries != 4 || in.Audits != 1 || in.Inventory != 2 || in.Devices != 2 || !in.First.Equal(t0.Add(time.Minute)) {
			t.Errorf("info %+v", in)
		}
	})
}

// TestNameLookup finds a name's flows whether few devices saw it (through
// name_dev) or many (through the hours of name_day).
func TestNameLookup(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t0.Add(48*time.Hour))
	var b store.Batch
	for i := range 40 {
		name := "rare.example"
		if i >= 3 {
			name = "common.example"
		}
		b.Flows = append(b.Flows, store.Flow{First: t0.Add(time.Duration(i) * time.Minute), Device: fmt.Sprintf("10.1.0.%d", i), Peer: "192.0.2.1", Name: name,
			Traffic: store.Traffic{Flows: 1}})
		b.Flows = append(b.Flows, store.Flow{First: t0.Add(time.Duration(i) * time.Minute), Device: fmt.Sprintf("10.1.0.%d", i), Peer: "192.0.2.2", Name: "other.example",
			Traffic: store.Traffic{Flows: 1}})
	}
	if err := db.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want int
	}{{"rare.example", 3}, {"common.example", 37}, {"example", 80}, {"none.example", 0}} {
		fs, err := db.Flows(ctx, store.Filter{Names: []string{tc.name}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != tc.want {
			t.Errorf("%s: %d flows, want %d", tc.name, len(fs), tc.want)
		}
	}
}
