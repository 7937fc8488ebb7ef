package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// The tests read a real SQLite store (internal/store/sqlite in a temp
// directory) holding the demo's story: ana-laptop (192.168.50.10) talking
// to TikTok and still asking for its names after the ban's deadline, a
// phone with a rule due next month, an audit and inventory rows.
var (
	t0      = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	testNow = t0.Add(72 * time.Hour)
)

func fixture() *store.Batch {
	sni := []store.Evidence{
		{Kind: "tls-sni", Value: "www.tiktok.com", Rule: "tiktok.com", Source: "bytedance-domains"},
		{Kind: "dns-answer", Value: "v16-webapp-prime.tiktok.com", Rule: "tiktok.com", Source: "bytedance-domains"},
	}
	return &store.Batch{
		Entities: []store.Entity{
			{ID: "bytedance", Name: "ByteDance Ltd.", Jurisdiction: "CN", Lists: []string{"us-fcc-covered"}, Kind: "company"},
			{ID: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "CN", Registered: "SG", OwnerChain: []string{"tiktok", "bytedance"},
				Lists: []string{"us-fcc-covered", "bis-entity-list"}, Unverified: []string{"bis-entity-list"}},
			{ID: "xiaomi", Name: "Xiaomi Corp.", Jurisdiction: "CN"},
			{ID: "akamai", Name: "Akamai Technologies", Jurisdiction: "US", Kind: "infrastructure"},
		},
		Devices: []store.Device{
			{ID: "192.168.50.10", MAC: "00:14:22:a1:b2:c3", Name: "ana-laptop", Vendor: "Dell", Group: "staff"},
			{ID: "192.168.50.11", MAC: "00:03:93:4e:27:9d", Name: "ben-phone", Group: "guests"},
		},
		Rules: []store.Rule{
			{ID: "ban-bytedance", Action: "block", Basis: "board decision 2026-01", Deadline: t0.Add(-48 * time.Hour), Entities: []string{"bytedance"}},
			{ID: "xiaomi-2026", Action: "block", Basis: "procurement rule", Deadline: t0.Add(30 * 24 * time.Hour), Entities: []string{"xiaomi"}},
		},
		Flows: []store.Flow{
			{First: t0.Add(5 * time.Minute), Last: t0.Add(6 * time.Minute), Device: "192.168.50.10", Group: "staff", Proto: "tcp", Peer: "23.50.60.70", Port: 443,
				Name: "www.tiktok.com", Entity: "tiktok", Role: "owner", Host: "akamai", HostCountry: "US", Source: "demo.pcap",
				Traffic: store.Traffic{BytesOut: 30300, BytesIn: 158800, PacketsOut: 40, PacketsIn: 120, Flows: 1}, Evidence: sni},
			{First: t0.Add(70 * time.Minute), Last: t0.Add(80 * time.Minute), Device: "192.168.50.10", Group: "staff", Proto: "tcp", Peer: "71.18.8.1", Port: 443,
				Name: "api16-normal-useast5.us.tiktokv.com", Entity: "tiktok", Role: "owner", Host: "AS11983 TikTok U.S. Data Security", HostCountry: "US",
				Traffic: store.Traffic{BytesOut: 9000, BytesIn: 2000, PacketsOut: 9, PacketsIn: 5, Flows: 2}, Evidence: sni[:1]},
			{First: t0.Add(7 * time.Minute), Last: t0.Add(8 * time.Minute), Device: "192.168.50.10", Group: "staff", Proto: "tcp", Peer: "185.15.59.224", Port: 443,
				Name: "en.wikipedia.org", Traffic: store.Traffic{BytesOut: 1500, BytesIn: 60000, PacketsOut: 8, PacketsIn: 50, Flows: 1}},
			{First: t0.Add(26 * time.Hour), Last: t0.Add(26 * time.Hour), Device: "192.168.50.11", Group: "guests", Proto: "tcp", Peer: "198.51.100.1", Port: 443,
				Name: "api.io.mi.com", Entity: "xiaomi", Role: "owner", Host: "amazon", HostCountry: "DE",
				Traffic:  store.Traffic{BytesOut: 7000, BytesIn: 100, PacketsOut: 9, PacketsIn: 3, Flows: 1},
				Evidence: []store.Evidence{{Kind: "dns-answer", Value: "api.io.mi.com", Rule: "mi.com"}}},
		},
		Queries: []store.Query{
			{Time: t0.Add(1 * time.Minute), Client: "192.168.50.10", Group: "staff", Name: "www.tiktok.com", Type: 1, Verdict: "block", Rule: "ban-bytedance", Entity: "tiktok", Reason: "qname", Deadline: t0.Add(-48 * time.Hour)},
			{Time: t0.Add(2 * time.Minute), Client: "192.168.50.10", Group: "staff", Name: "log.tiktokv.com", Type: 1, Verdict: "block", Rule: "ban-bytedance", Entity: "tiktok", Reason: "qname", Deadline: t0.Add(-48 * time.Hour)},
			{Time: t0.Add(3 * time.Minute), Client: "192.168.50.10", Group: "staff", Name: "en.wikipedia.org", Type: 28, Verdict: "allow", Latency: 1500 * time.Microsecond},
			{Time: t0.Add(25 * time.Hour), Client: "192.168.50.11", Group: "guests", Name: "api.io.mi.com", Type: 1, Verdict: "due", Rule: "xiaomi-2026", Entity: "xiaomi", Reason: "qname", Deadline: t0.Add(30 * 24 * time.Hour)},
		},
		Audits: []store.Audit{{Time: t0.Add(2 * time.Hour), Device: "192.168.50.11", App: "com.xiaomi.smarthome", Version: "9.1", Label: "Mi Home", Entity: "xiaomi", Verdict: "block",
			Findings: []store.Finding{{Rule: "entity-owner", Severity: "high", Category: "entity", Title: "App by Xiaomi", Entity: "xiaomi", Evidence: []string{"package com.xiaomi.smarthome"}},
				{Rule: "perm-location", Severity: "medium", Title: "Reads <precise> location"}}}},
		Inventory: []store.InventoryItem{
			{Device: "192.168.50.11", Group: "guests", App: "com.xiaomi.smarthome", Version: "9.1", Entity: "xiaomi", Verdict: "due", Rule: "xiaomi-2026", Seen: t0.Add(3 * time.Hour), Source: "adb"},
			{Device: "192.168.50.10", Group: "staff", App: "org.mozilla.firefox", Seen: t0.Add(3 * time.Hour), Source: "adb"},
		},
		Bypass: fixtureBypass(),
	}
}

// fixtureBypass: the laptop's DoH to Cloudflare (an owner the store has
// no entity row for) and the phone's hard-coded TikTok address.
func fixtureBypass() []store.Bypass {
	return []store.Bypass{
		{Device: "192.168.50.10", Kind: "doh", Peer: "1.1.1.1", Port: 443, Proto: "tcp", Name: "cloudflare-dns.com", Service: "cloudflare-public-dns",
			Owner: "cloudflare", OwnerName: "Cloudflare, Inc.", Evidence: []store.BypassEvidence{{Kind: "tls-sni", Value: "cloudflare-dns.com"},
				{Kind: "dns-service", Value: "Cloudflare 1.1.1.1 (public-resolver)", Rule: "dns-service:cloudflare-public-dns", Source: "cloudflare-1111-doh"}},
			Flows: 1, BytesOut: 2489, BytesIn: 8354, First: t0.Add(6 * time.Second), Last: t0.Add(10 * time.Second), Source: "demo.pcap"},
		{Device: "192.168.50.11", Kind: "hardcoded-address", Peer: "71.18.8.9", Port: 443, Proto: "tcp", Owner: "tiktok", OwnerName: "TikTok Pte. Ltd.",
			Evidence: []store.BypassEvidence{{Kind: "address", Value: "71.18.8.0/24"}, {Kind: "no-dns-answer", Value: "71.18.8.9"}},
			Flows:    3, BytesOut: 700, BytesIn: 900, First: t0.Add(26 * time.Hour), Last: t0.Add(27 * time.Hour), Source: "demo.pcap"},
	}
}

// sharedStore is written once: every test reads it.
var shared struct {
	once sync.Once
	db   *sqlite.DB
	err  error
	dir  string
}

func testStore(t testing.TB) store.Reader {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = tempDir()
		if shared.err != nil {
			return
		}
		cfg := store.DefaultConfig()
		cfg.Path = filepath.Join(shared.dir, "outflow.db")
		cfg.Retention, cfg.RollupRetention, cfg.MaxSize = 0, 0, 0
		ctx := context.Background()
		// Written by one process and read by another, as `outflow scan`
		// and `outflow serve` do: the dashboard opens the store read-only.
		w, err := sqlite.OpenWith(ctx, cfg, nil, sqlite.Options{Now: func() time.Time { return testNow }})
		if err != nil {
			shared.err = err
			return
		}
		if shared.err = w.Write(ctx, fixture()); shared.err != nil {
			w.Close()
			return
		}
		if shared.err = w.WriteAlerts(ctx, fixtureAlerts()); shared.err != nil {
			w.Close()
			return
		}
		if shared.err = w.WritePolicyChange(ctx, &store.PolicyChange{Time: t0, User: "ana", Comment: "ban ByteDance", File: "policy.yaml",
			After: "rules: []\n", Diff: "--- policy.yaml\n+++ policy.yaml\n@@ -0,0 +1 @@\n+rules: []\n"}); shared.err != nil {
			w.Close()
			return
		}
		if shared.err = w.Close(); shared.err != nil {
			return
		}
		shared.db, shared.err = sqlite.OpenReadOnly(ctx, cfg, nil)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.db
}

// cheapHash is a password hash fast enough for tests.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := auth.HashPassword(pw, auth.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const testPassword = "correct horse battery"

// withUsers is a configuration served beyond loopback: one user, one token.
func withUsers(t testing.TB) (Config, string) {
	cfg := DefaultConfig()
	cfg.Listen = "0.0.0.0:0"
	cfg.Auth.Users = []auth.User{{Name: "ana", PasswordHash: cheapHash(t, testPassword)}}
	tok, sum := auth.NewToken()
	cfg.Auth.Tokens = []auth.Token{{Name: "grafana", SHA256: sum}}
	return cfg, tok
}

type testServer struct {
	*Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(cfg, Deps{Reader: testStore(t), Now: func() time.Time { return testNow },
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: s, logs: logs}
}

// req is one request through the handler, from client address from.
type req struct {
	method, target string
	form           url.Values
	header         map[string]string
	cookies        []*http.Cookie
	from           string // RemoteAddr; default 192.0.2.50:40000
	host           string
}

func (s *testServer) do(t testing.TB, r req) *http.Response {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr := httptest.NewRequest(r.method, r.target, body)
	hr.RemoteAddr = r.from
	if hr.RemoteAddr == "" {
		hr.RemoteAddr = "192.0.2.50:40000"
	}
	if r.host != "" {
		hr.Host = r.host
	} else {
		hr.Host = "127.0.0.1:8080"
	}
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hr.Header.Set("Accept", "text/html")
	if strings.HasPrefix(r.target, "/api/") {
		hr.Header.Set("Accept", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, hr)
	return w.Result()
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func tempDir() (string, error) { return os.MkdirTemp("", "outflow-web-test-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.db != nil {
		shared.db.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// fixtureAlerts are what the sensor raised about ana-laptop.
func fixtureAlerts() []store.Alert {
	return []store.Alert{
		{Time: t0.Add(8 * time.Minute), Kind: "first_contact", Device: "192.168.50.10", Entity: "tiktok", EntityName: "TikTok Pte. Ltd.",
			Jurisdiction: "CN", Evidence: "tls-sni www.tiktok.com", Bytes: 190000, Summary: "192.168.50.10 talked to TikTok Pte. Ltd. [CN] for the first time"},
		{Time: t0.Add(9 * time.Minute), Kind: "past_deadline", Device: "192.168.50.10", Entity: "tiktok", Rule: "tiktok-ban",
			Deadline: time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC), Summary: "192.168.50.10 sent traffic to TikTok after the deadline 2026-01-19"},
	}
}
