package web

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
)

// getJSON reads an API answer into v and returns the status.
func getJSON(t *testing.T, s *testServer, target string, v any) int {
	t.Helper()
	resp := s.do(t, req{target: target})
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q", target, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return resp.StatusCode
}

func TestAPI(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	// The fixture's newest data is at 2026-03-03 11:00 and the clock three
	// days later: periods end at the hour after the newest data.
	wantUntil := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)

	t.Run("overview", func(t *testing.T) {
		var o store.Overview
		if code := getJSON(t, s, "/api/overview", &o); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if !o.Until.Equal(wantUntil) || !o.Since.Equal(wantUntil.Add(-30*24*time.Hour)) {
			t.Errorf("period %v to %v, want the month to %v", o.Since, o.Until, wantUntil)
		}
		var ents []string
		for _, e := range o.Entities {
			ents = append(ents, e.Entity.ID)
		}
		if diff := cmp.Diff([]string{"tiktok", "xiaomi"}, ents); diff != "" {
			t.Errorf("entities (-want +got):\n%s", diff)
		}
		if o.Concern.BytesOut != 30300+9000+7000 || o.Devices != 2 || o.QueriesBlocked != 2 {
			t.Errorf("concern %d bytes out, %d devices, %d blocked", o.Concern.BytesOut, o.Devices, o.QueriesBlocked)
		}
		if len(o.ByJurisdiction) != 1 || o.ByJurisdiction[0].Country != "CN" {
			t.Errorf("by jurisdiction %+v, want CN only (TikTok's owner, not the US CDN)", o.ByJurisdiction)
		}
	})
	t.Run("period day", func(t *testing.T) {
		var o store.Overview
		getJSON(t, s, "/api/overview?period=day", &o)
		var in []string
		for _, e := range o.Entities {
			if e.Period.BytesOut > 0 {
				in = append(in, e.Entity.ID)
			}
		}
		if diff := cmp.Diff([]string{"xiaomi"}, in); diff != "" || o.Concern.BytesOut != 7000 {
			t.Errorf("last day: entities (-want +got):\n%s\nconcern %d bytes out", diff, o.Concern.BytesOut)
		}
	})
	t.Run("devices", func(t *testing.T) {
		var l list[store.DeviceSummary]
		getJSON(t, s, "/api/devices", &l)
		if len(l.Items) != 2 || l.Items[0].Device.Name != "ana-laptop" || l.Items[0].Exposures[0].Entity != "tiktok" {
			t.Fatalf("devices %+v", l.Items)
		}
		if l.Limit != store.DefaultLimit || !l.Until.Equal(wantUntil) {
			t.Errorf("envelope limit %d until %v", l.Limit, l.Until)
		}
		getJSON(t, s, "/api/devices?entity=xiaomi", &l)
		if len(l.Items) != 1 || l.Items[0].Device.ID != "192.168.50.11" {
			t.Fatalf("devices of xiaomi %+v", l.Items)
		}
	})
	t.Run("device", func(t *testing.T) {
		var d store.DeviceDetail
		if code := getJSON(t, s, "/api/devices/192.168.50.10", &d); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if d.Device.Name != "ana-laptop" || len(d.Exposures) != 1 || len(d.Exposures[0].Evidence) == 0 {
			t.Fatalf("device %+v", d)
		}
		if ev := d.Exposures[0].Evidence[0]; ev.Kind == "" || !strings.Contains(ev.Value, "tiktok.com") {
			t.Errorf("evidence %+v", ev)
		}
		var e map[string]string
		if code := getJSON(t, s, "/api/devices/10.9.9.9", &e); code != http.StatusNotFound || e["error"] == "" {
			t.Errorf("unknown device: status %d, %v", code, e)
		}
	})
	t.Run("flows", func(t *testing.T) {
		var l list[store.Flow]
		getJSON(t, s, "/api/flows?device=192.168.50.10&concern=1", &l)
		if len(l.Items) != 2 {
			t.Fatalf("%d flows, want 2", len(l.Items))
		}
		for _, f := range l.Items {
			if f.Entity != "tiktok" || f.Device != "192.168.50.10" {
				t.Errorf("flow %+v", f)
			}
		}
		getJSON(t, s, "/api/flows?name=wikipedia.org", &l)
		if len(l.Items) != 1 || l.Items[0].Name != "en.wikipedia.org" {
			t.Fatalf("flows by name %+v", l.Items)
		}
		getJSON(t, s, "/api/flows?limit=1", &l)
		if len(l.Items) != 1 || l.Limit != 1 {
			t.Fatalf("limit 1: %d rows", len(l.Items))
		}
	})
	t.Run("enforcement", func(t *testing.T) {
		var od list[store.OverdueClient]
		getJSON(t, s, "/api/overdue", &od)
		if len(od.Items) != 1 || od.Items[0].Client != "192.168.50.10" || od.Items[0].Rule != "ban-bytedance" || od.Items[0].Queries != 2 {
			t.Fatalf("overdue %+v", od.Items)
		}
		var bl list[store.BlockedCount]
		getJSON(t, s, "/api/blocked", &bl)
		if len(bl.Items) != 1 || bl.Items[0].Rule != "ban-bytedance" || bl.Items[0].Group != "staff" || bl.Items[0].Queries != 2 {
			t.Fatalf("blocked %+v", bl.Items)
		}
		var due list[store.DueRule]
		getJSON(t, s, "/api/due", &due)
		if len(due.Items) != 1 || due.Items[0].Rule.ID != "xiaomi-2026" || due.Items[0].NClients != 1 {
			t.Fatalf("due %+v", due.Items)
		}
	})
	t.Run("audits", func(t *testing.T) {
		var l list[store.AuditSummary]
		getJSON(t, s, "/api/audits", &l)
		if len(l.Items) != 1 || l.Items[0].App != "com.xiaomi.smarthome" || l.Items[0].Findings != 2 {
			t.Fatalf("audits %+v", l.Items)
		}
		var a store.Audit
		getJSON(t, s, "/api/audits/"+itoa(l.Items[0].ID), &a)
		if len(a.Findings) != 2 {
			t.Fatalf("audit %+v", a)
		}
	})
	t.Run("inventory, entities, names, queries, info", func(t *testing.T) {
		var inv list[store.InventoryItem]
		getJSON(t, s, "/api/inventory", &inv)
		var ents list[store.Entity]
		getJSON(t, s, "/api/entities", &ents)
		var names list[store.NameCount]
		getJSON(t, s, "/api/names?entity=tiktok", &names)
		var qs list[store.Query]
		getJSON(t, s, "/api/queries?verdict=block", &qs)
		var inf store.Info
		getJSON(t, s, "/api/info", &inf)
		if len(inv.Items) != 2 || len(ents.Items) != 4 || len(names.Items) == 0 || len(qs.Items) != 2 || inf.Flows != 5 /* 1+2+1+1 flows in 4 rows */ || inf.Queries != 4 {
			t.Fatalf("inventory %d, entities %d, names %d, blocked queries %d, info %+v",
				len(inv.Items), len(ents.Items), len(names.Items), len(qs.Items), inf)
		}
		for _, n := range names.Items {
			if n.Entity != "tiktok" {
				t.Errorf("name %+v under entity=tiktok", n)
			}
		}
	})
	t.Run("search", func(t *testing.T) {
		var l list[store.Hit]
		getJSON(t, s, "/api/search?q=ana-lap", &l)
		if len(l.Items) == 0 || l.Items[0].Kind != "device" || l.Items[0].Key != "192.168.50.10" {
			t.Fatalf("search %+v", l.Items)
		}
		getJSON(t, s, "/api/search?q=", &l)
		if len(l.Items) != 0 {
			t.Fatalf("empty search found %d", len(l.Items))
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAPIBadParameters(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	for _, target := range []string{
		"/api/devices?period=year", "/api/flows?since=yesterday", "/api/flows?until=2026-13-01",
		"/api/flows?since=2026-03-05&until=2026-03-01", "/api/queries?verdict=maybe", "/api/flows?limit=-1",
		"/api/flows?concern=yes", "/api/audits/x", "/api/search?limit=0",
		"/api/flows?name=" + strings.Repeat("a", 300), "/api/flows?device=" + strings.Repeat("d&device=", 40),
	} {
		t.Run(target[:min(len(target), 50)], func(t *testing.T) {
			var e map[string]string
			if code := getJSON(t, s, target, &e); code != http.StatusBadRequest || e["error"] == "" {
				t.Fatalf("status %d, body %v; want 400 with an error", code, e)
			}
		})
	}
	// Limits are clamped, not refused.
	var l list[store.Flow]
	getJSON(t, s, "/api/flows?limit=99999999", &l)
	if l.Limit != store.MaxLimit {
		t.Fatalf("limit %d, want %d", l.Limit, store.MaxLimit)
	}
}

func TestAPIGzip(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	resp := s.do(t, req{target: "/api/devices", header: map[string]string{"Accept-Encoding": "gzip"}})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("not gzipped")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if !strings.Contains(string(b), "ana-laptop") {
		t.Fatalf("gzipped body %q", b)
	}
}

func TestAPIAlerts(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	var got struct{ Items []store.Alert }
	if code := getJSON(t, s, "/api/alerts?period=all", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	want := fixtureAlerts()
	if len(got.Items) != 2 || got.Items[0].Kind != want[1].Kind || got.Items[1].Kind != want[0].Kind || got.Items[0].Rule != "tiktok-ban" {
		t.Fatalf("alerts %+v, want the fixture's, newest first", got.Items)
	}
	got.Items = nil
	getJSON(t, s, "/api/alerts?period=all&rule=tiktok-ban", &got)
	if len(got.Items) != 1 || got.Items[0].Kind != "past_deadline" {
		t.Fatalf("rule selection: %+v", got.Items)
	}
}
