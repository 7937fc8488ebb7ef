package clickhouse_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/demo"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
	"github.com/outflow-dev/outflow/internal/store/querylogsink"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
	"github.com/outflow-dev/outflow/internal/web"
)

var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ordered hands batches on with their flows in one order: the scan
// feed flushes a map, and which evidence a store keeps (the first 16 per
// device and entity) depends on the order of the rows it is given.
type ordered struct{ store.Writer }

func (o ordered) Write(ctx context.Context, b *store.Batch) error {
	if b.More.N > 0 {
		for f := range b.More.Each {
			b.Flows = append(b.Flows, *f)
		}
		b.More = store.FlowRows{}
	}
	slices.SortStableFunc(b.Flows, func(x, y store.Flow) int {
		return cmp.Or(x.Hour.Compare(y.Hour), x.First.Compare(y.First), strings.Compare(x.Device, y.Device), strings.Compare(x.Peer, y.Peer),
			cmp.Compare(x.Port, y.Port), strings.Compare(x.Proto, y.Proto), strings.Compare(x.Name, y.Name), strings.Compare(x.Entity, y.Entity))
	})
	return o.Writer.Write(ctx, b)
}

// fill writes what outflow writes over two weeks to w: the demo office
// scanned once a day with --store, the resolver's query log of the same
// devices (TikTok banned from day 7, WeChat due on day 30), device facts
// from an inventory, an app audit and inventory rows.
func fill(t testing.TB, dir string, w store.Writer) {
	t.Helper()
	as, _ := w.(store.Alerts)
	w = ordered{w}
	ctx := context.Background()
	now := base.Add(14 * 24 * time.Hour)
	ix, err := catalog.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	feed := scanfeed.New(ctx, w, "demo")
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
	banned, due := base.Add(7*24*time.Hour), base.Add(30*24*time.Hour)
	if err := w.Write(ctx, &store.Batch{
		Rules: []store.Rule{
			{ID: "no-bytedance", Action: "block", Basis: "board decision 2026-02-20", Deadline: banned, Entities: []string{"bytedance"}},
			{ID: "no-wechat", Action: "block", Basis: "security policy 4.2", Deadline: due, Entities: []string{"tencent"}},
		},
		Devices: []store.Device{
			{ID: "192.168.50.10", MAC: "00:14:22:a1:b2:c3", Name: "ana-laptop", Vendor: "Dell", Group: "staff", Owner: "ana"},
			{ID: "192.168.50.11", Name: "ben-phone", Group: "guests", Platform: "android"},
		},
	}); err != nil {
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
	if err := querylogsink.New(w).Write(entries); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, &store.Batch{
		Audits: []store.Audit{{Time: base.Add(3 * 24 * time.Hour), Device: "192.168.50.10", App: "com.zhiliaoapp.musically",
			Version: "37.2.4", Label: "TikTok", Entity: "tiktok", Verdict: "block", Findings: []store.Finding{
				{Rule: "entity-app", Severity: "high", Category: "entity", Title: "App published by TikTok Pte. Ltd.", Entity: "tiktok"},
				{Rule: "sdk-bytedance-applog", Severity: "high", Category: "entity", Title: "ByteDance AppLog SDK", Entity: "bytedance", Evidence: []string{"com.bytedance.applog"}},
				{Rule: "perm-contacts", Severity: "medium", Category: "personal-data", Title: "Reads contacts"},
			}}},
		Inventory: []store.InventoryItem{
			{Device: "192.168.50.11", Group: "guests", App: "com.tencent.mm", Version: "8.0", Entity: "tencent", Verdict: "due", Rule: "no-wechat", Seen: base.Add(26 * time.Hour), Source: "adb"},
			{Device: "192.168.50.11", Group: "guests", App: "com.tencent.mm", Version: "8.1", Entity: "tencent", Verdict: "due", Rule: "no-wechat", Seen: base.Add(50 * time.Hour), Source: "adb"},
			{Device: "192.168.50.10", Group: "staff", App: "org.mozilla.firefox", Seen: base.Add(3 * time.Hour), Source: "adb"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	// ways around the resolver, one of them written twice (its sums add
	// up, the newer facts win), and the sensor's alerts
	at := base.Add(13 * 24 * time.Hour)
	doh := store.Bypass{Device: "192.168.50.10", Kind: "doh", Peer: "1.1.1.1", Port: 443, Proto: "tcp", Name: "cloudflare-dns.com",
		Service: "cloudflare-public-dns", Owner: "cloudflare", OwnerName: "Cloudflare, Inc.", Flows: 2, BytesOut: 300, BytesIn: 900,
		First: at, Last: at.Add(time.Minute), Source: "sensor", Evidence: []store.BypassEvidence{{Kind: "tls-sni", Value: "cloudflare-dns.com"}}}
	later := doh
	later.First, later.Last, later.Flows, later.Name = at.Add(time.Hour), at.Add(2*time.Hour), 3, ""
	later.Evidence = []store.BypassEvidence{{Kind: "dns-service", Value: "Cloudflare 1.1.1.1 (public-resolver)", Rule: "dns-service:cloudflare-public-dns"}}
	hard := store.Bypass{Device: "192.168.50.11", Kind: "hardcoded-address", Peer: "71.18.247.10", Port: 443, Proto: "tcp", Owner: "tiktok",
		OwnerName: "TikTok Pte. Ltd.", Flows: 1, BytesOut: 100, First: at.Add(30 * time.Minute), Last: at.Add(30 * time.Minute), Source: "sensor",
		Evidence: []store.BypassEvidence{{Kind: "address", Value: "71.18.247.10 (AS138699)"}}}
	for _, b := range [][]store.Bypass{{doh, hard}, {later}} {
		if err := w.Write(ctx, &store.Batch{Bypass: b}); err != nil {
			t.Fatal(err)
		}
	}
	if as == nil {
		t.Fatalf("%T keeps no alerts", w)
	}
	if err := as.WriteAlerts(ctx, []store.Alert{
		{Time: at.Add(-2 * time.Hour), Kind: "first_contact", Site: "hq", Device: "hq/192.168.50.10", Entity: "tiktok", EntityName: "TikTok Pte. Ltd.", Jurisdiction: "CN",
			Evidence: "tls-sni www.tiktok.com", Bytes: 1000, Summary: "192.168.50.10 talked to TikTok Pte. Ltd. [CN] for the first time"},
		{Time: at.Add(-time.Hour), Kind: "past_deadline", Device: "192.168.50.11", Entity: "tencent", Rule: "no-wechat", Deadline: base.Add(10 * 24 * time.Hour),
			Bytes: 5, Summary: "192.168.50.11 sent traffic to Tencent after the deadline"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := as.WriteAlerts(ctx, []store.Alert{{Time: at, Kind: "bypass", Device: "192.168.50.10", Entity: "cloudflare",
		Rule: "doh 1.1.1.1:443/tcp", Summary: "bypass"}}); err != nil {
		t.Fatal(err)
	}
}

// calls are the dashboard's API calls compared: every list and page
// the dashboard reads, over the periods and selections it offers.
var calls = []string{
	"/api/overview", "/api/overview?period=all", "/api/overview?period=day", "/api/overview?period=week",
	"/api/overview?since=2026-03-05&until=2026-03-06T12:00:00Z", "/api/overview?period=all&device=192.168.50.10",
	"/api/overview?period=all&group=staff", "/api/overview?period=all&entity=bytedance", "/api/overview?period=all&list=us-fcc-covered",
	"/api/overview?period=all&concern=1", "/api/overview?period=all&rule=no-such-rule",
	"/api/devices", "/api/devices?period=all", "/api/devices?period=day", "/api/devices?period=all&entity=tiktok", "/api/devices?period=all&limit=2&offset=1",
	"/api/devices/192.168.50.10", "/api/devices/192.168.50.11?period=week", "/api/devices/192.168.50.20", "/api/devices/10.9.9.9",
	"/api/flows", "/api/flows?period=all&limit=1000", "/api/flows?period=all&device=192.168.50.11&limit=1000", "/api/flows?period=all&name=tiktok.com",
	"/api/flows?period=day&concern=1", "/api/flows?period=all&entity=bytedance&limit=5&offset=3",
	"/api/names", "/api/names?period=all", "/api/names?period=all&device=192.168.50.10", "/api/names?period=all&name=tiktokv.com",
	"/api/names?period=all&group=staff", "/api/names?period=week&entity=tencent",
	"/api/queries", "/api/queries?period=all&limit=1000", "/api/queries?period=all&verdict=block&limit=7", "/api/queries?period=all&group=guests",
	"/api/queries?period=all&name=tiktok.com&offset=4",
	"/api/blocked", "/api/blocked?period=all", "/api/blocked?period=day", "/api/blocked?period=all&device=192.168.50.10",
	"/api/overdue", "/api/overdue?period=all", "/api/overdue?period=week&rule=no-bytedance",
	"/api/due", "/api/due?period=all", "/api/due?period=day&group=guests",
	"/api/audits", "/api/audits?entity=bytedance", "/api/audits?device=192.168.50.11", "/api/audits/1", "/api/audits/2",
	"/api/inventory", "/api/inventory?verdict=due", "/api/inventory?group=staff", "/api/inventory?entity=tencent",
	"/api/entities",
	"/api/alerts", "/api/alerts?period=day", "/api/alerts?device=hq/192.168.50.10", "/api/alerts?entity=tencent", "/api/alerts?rule=no-wechat",
	"/api/alerts?limit=1&offset=1",
	"/api/bypass", "/api/bypass?period=day", "/api/bypass?device=192.168.50.10", "/api/bypass?entity=tiktok", "/api/bypass?limit=1&offset=1",
	"/api/search?q=tiktok", "/api/search?q=ana", "/api/search?q=no-", "/api/search?q=fcc", "/api/search?q=mozilla", "/api/search?q=wikipedia",
}

func serve(t *testing.T, r store.Reader, now time.Time, log *slog.Logger) *web.Server {
	t.Helper()
	s, err := web.New(web.DefaultConfig(), web.Deps{Reader: r, Now: func() time.Time { return now }, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, s *web.Server, target string) (int, any) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:8080"
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %d: not JSON: %.200s", target, w.Code, b)
	}
	return w.Code, v
}

// TestSameAnswers is the core acceptance test of the ClickHouse store:
// the same data written to SQLite and to ClickHouse gives the same API
// JSON for every dashboard call.
func TestSameAnswers(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	now := base.Add(14*24*time.Hour + 3*time.Hour)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	lite, err := sqlite.OpenWith(ctx, store.Config{Path: filepath.Join(dir, "outflow.db")}, nil, sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	cfg, err := clickhouse.ParseURL(srv.URL("outflow_equiv")+"?read_timeout=30s&spool="+filepath.Join(dir, "spool"), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	chs, err := clickhouse.Open(ctx, cfg, nil, clickhouse.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer chs.Close()
	fill(t, dir, lite)
	fill(t, dir, chs)
	ws, wc := serve(t, lite, now, slog.New(slog.DiscardHandler)), serve(t, chs, now, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, c := range calls {
		t.Run(c, func(t *testing.T) {
			codeS, want := get(t, ws, c)
			codeC, got := get(t, wc, c)
			if codeS != codeC {
				t.Fatalf("status: sqlite %d, clickhouse %d", codeS, codeC)
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("sqlite (-) and clickhouse (+) differ:\n%s", diff)
			}
		})
	}
	// Info differs in what names the backend and its schema; what it
	// holds must not.
	_, is := get(t, ws, "/api/info")
	_, ic := get(t, wc, "/api/info")
	for _, m := range []any{is, ic} {
		for _, k := range []string{"backend", "path", "size", "schema"} {
			delete(m.(map[string]any), k)
		}
	}
	if diff := gocmp.Diff(is, ic); diff != "" {
		t.Errorf("/api/info: sqlite (-) and clickhouse (+) differ:\n%s", diff)
	}
	// Not vacuous: the data is there.
	_, ov := get(t, wc, "/api/overview?period=all")
	if n := len(ov.(map[string]any)["entities"].([]any)); n < 3 {
		t.Fatalf("overview over all of the data names %d entities, want several", n)
	}
	_, bp := get(t, wc, "/api/bypass")
	_, al := get(t, wc, "/api/alerts")
	kinds := map[string]bool{}
	for _, r := range bp.(map[string]any)["items"].([]any) {
		m := r.(map[string]any)
		kinds[m["kind"].(string)+" "+m["device"].(string)] = true
	}
	if !kinds["doh 192.168.50.10"] || !kinds["hardcoded-address 192.168.50.11"] {
		t.Fatalf("bypass over ClickHouse: %v; want the DoH and the hard-coded rows", bp)
	}
	if rows := al.(map[string]any)["items"].([]any); len(rows) != 3 || rows[0].(map[string]any)["id"] != 3.0 {
		t.Fatalf("alerts over ClickHouse: %v; want 3, newest (id 3) first", al)
	}
}
