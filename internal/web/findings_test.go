package web

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// TestFindingsSections checks the alerts and the bypass rows on the
// Enforcement page and on each device's page, and only the device's own.
func TestFindingsSections(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		target        string
		want, notWant []string
	}{
		{"/enforcement", []string{"<h2>Recent alerts</h2>", "first_contact", "past_deadline", "192.168.50.10 talked to TikTok Pte. Ltd. [CN] for the first time",
			`<a class="entity" href="/devices?entity=tiktok"`, `href="/enforcement?rule=tiktok-ban"`, "(tls-sni www.tiktok.com)",
			"<h2>Ways around the resolver</h2>", "1.1.1.1:443", "cloudflare-dns.com", `<span title="cloudflare">Cloudflare, Inc.</span>`, "71.18.8.9:443",
			"hardcoded-address", "no-dns-answer", `href="/devices/192.168.50.11"`}, nil},
		{"/enforcement?device=192.168.50.11", []string{"<h2>Ways around the resolver</h2>", "71.18.8.9:443", "The sensor raised no alert in this period."},
			[]string{"1.1.1.1:443", "first_contact"}},
		// the rule selects alerts; bypass rows have no rule and all stay
		{"/enforcement?rule=tiktok-ban", []string{"past_deadline", "1.1.1.1:443", "71.18.8.9:443"}, []string{"first_contact"}},
		{"/enforcement?device=10.9.9.9", []string{"The sensor raised no alert in this period.", "No scan in this period saw a device resolve names around"}, nil},
		{"/devices/192.168.50.10", []string{"<h2>Alerts</h2>", "first_contact", "past_deadline", "<h2>Ways around the resolver</h2>", "1.1.1.1:443",
			"Cloudflare 1.1.1.1 (public-resolver)"}, []string{"71.18.8.9"}},
		{"/devices/192.168.50.11", []string{"<h2>Ways around the resolver</h2>", "71.18.8.9:443", `<a class="entity" href="/devices?entity=tiktok"`},
			[]string{"<h2>Alerts</h2>", "1.1.1.1"}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			resp := s.do(t, req{target: tc.target})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d:\n%s", resp.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
			checkMarkup(t, body)
		})
	}
}

func TestAPIBypass(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	var got struct{ Items []store.Bypass }
	if code := getJSON(t, s, "/api/bypass?period=all", &got); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	want := fixtureBypass()
	// last seen first: the phone's, then the laptop's
	if d := cmp.Diff([]store.Bypass{want[1], want[0]}, got.Items); d != "" {
		t.Fatalf("-want +got\n%s", d)
	}
	for target, n := range map[string]int{
		"/api/bypass?period=all&device=192.168.50.10": 1,
		"/api/bypass?period=all&entity=tiktok":        1,
		"/api/bypass?period=all&device=10.9.9.9":      0,
	} {
		got.Items = nil
		if code := getJSON(t, s, target, &got); code != http.StatusOK || len(got.Items) != n {
			t.Errorf("%s: status %d, %d rows; want %d", target, code, len(got.Items), n)
		}
	}
}

// plainReader is a store with neither alerts nor bypass rows (ClickHouse,
// so far): only the Reader's methods.
type plainReader struct{ store.Reader }

func TestFindingsUnsupported(t *testing.T) {
	srv, err := New(DefaultConfig(), Deps{Reader: plainReader{testStore(t)}, Now: func() time.Time { return testNow },
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: srv, logs: &syncBuffer{}}
	for _, target := range []string{"/api/alerts", "/api/bypass"} {
		var e map[string]string
		if code := getJSON(t, s, target, &e); code != http.StatusNotImplemented || e["error"] == "" {
			t.Errorf("%s: status %d, body %v; want 501 with an error", target, code, e)
		}
	}
	for _, target := range []string{"/enforcement", "/devices/192.168.50.10"} {
		resp := s.do(t, req{target: target})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
		if strings.Contains(body, "alerts") || strings.Contains(body, "Ways around the resolver") {
			t.Errorf("%s shows a section the store cannot fill", target)
		}
	}
}

// TestScanStoreBypassAPI: what scan --store writes (a report's bypass
// entries, through the scan feed) is what /api/bypass answers.
func TestScanStoreBypassAPI(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := sqlite.Open(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := &scan.Report{Generated: "2026-11-02T10:00:00Z", Devices: []scan.Device{{Address: "192.168.7.16", Bypass: []bypass.Entry{
		{Kind: bypass.DoQ, Peer: "94.140.14.14", Port: 853, Proto: "udp", Service: "adguard-dns", Evidence: []bypass.Evidence{{Kind: "port", Value: "udp/853"}},
			Flows: 1, BytesOut: 1200, FirstSeen: "2026-11-02T09:00:01Z", LastSeen: "2026-11-02T09:00:03Z"}}}}}
	if _, err := scanfeed.New(ctx, db, "gen.pcap").Close(rep); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := sqlite.OpenReadOnly(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	srv, err := New(DefaultConfig(), Deps{Reader: ro, Now: func() time.Time { return time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC) }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: srv, logs: &syncBuffer{}}
	var got struct{ Items []map[string]any }
	if code := getJSON(t, s, "/api/bypass?device=192.168.7.16", &got); code != http.StatusOK || len(got.Items) != 1 {
		t.Fatalf("status %d, %+v", code, got.Items)
	}
	b := got.Items[0]
	if b["kind"] != "doq" || b["peer"] != "94.140.14.14" || b["port"] != 853.0 || b["service"] != "adguard-dns" || b["source"] != "gen.pcap" ||
		b["first"] != "2026-11-02T09:00:01Z" || b["last"] != "2026-11-02T09:00:03Z" {
		t.Errorf("/api/bypass row %v", b)
	}
}
