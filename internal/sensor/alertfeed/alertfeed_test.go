package alertfeed

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/alert"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/sensor"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

const testPolicy = `
groups:
  - name: drones
    addresses: [10.9.0.0/16]
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
    effective: 2026-01-19T00:00:00Z
  - id: drones-dji
    action: block
    entities: dji
    groups: drones
`

// TestAlertsToWebhookSyslogAndStore runs records through a real sensor
// whose OnConcern is the Detector, a real Notifier delivering to a JSON
// webhook and an RFC 5424 syslog receiver on 127.0.0.1, and a SQLite
// store that keeps the alerts: each of the three kinds fires once per
// device, entity and rule, a repeat fires nothing, and the same address
// at another site is another device.
func TestAlertsToWebhookSyslogAndStore(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var hooks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a alert.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		mu.Lock()
		hooks = append(hooks, key(a.Kind, a.Site, a.Device.String(), a.Entity, a.Rule))
		mu.Unlock()
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("webhook receiver on %s, want loopback", srv.URL)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var logs []string
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			logs = append(logs, string(buf[:n]))
			mu.Unlock()
		}
	}()

	db, err := sqlite.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "a.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acfg := alert.DefaultConfig()
	acfg.Webhooks = []alert.WebhookConfig{{URL: srv.URL}}
	acfg.Syslog = []alert.SyslogConfig{{Network: "udp", Address: pc.LocalAddr().String()}}
	n, err := alert.New(acfg, alert.Deps{Sinks: []alert.Sink{StoreSink{W: db}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}

	pol, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	var pp atomic.Pointer[policy.Policy]
	pp.Store(pol)
	det := New(DefaultConfig(), Deps{Raise: n.Raise, Policy: &pp})
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	sen := sensor.New(sensor.DefaultConfig(), sensor.Deps{Store: db, Attributor: &at, OnConcern: det.Concern, OnBypass: det.Bypass})

	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	rec := func(site, dev, sni string) *flowrec.Flow {
		return &flowrec.Flow{Site: site, Device: netip.MustParseAddr(dev), Peer: netip.MustParseAddr("203.0.113.9"), PeerPort: 443, Proto: 6,
			SNI: sni, BytesOut: 100, BytesIn: 900, PacketsOut: 1, PacketsIn: 1, First: t0, Last: t0}
	}
	for range 3 { // repeats raise nothing new
		sen.Flow(rec("hq", "10.0.0.5", "www.tiktok.com"))
		sen.Flow(rec("hq", "10.9.0.7", "www.dji.com"))
		sen.Flow(rec("hq", "10.0.0.5", "www.dji.com"))
		sen.Flow(rec("branch-2", "10.0.0.5", "www.tiktok.com"))
		sen.Flow(rec("hq", "10.0.0.6", "example.org")) // no entity: no alert
		doh := rec("hq", "10.0.0.7", "cloudflare-dns.com")
		doh.Peer, doh.Hidden = netip.MustParseAddr("1.1.1.1"), flowrec.HiddenDoH
		sen.Flow(doh) // a bypass: one alert, one row of three flows
		exported := rec("hq", "10.0.0.8", "")
		exported.Peer, exported.NoDNS = netip.MustParseAddr("71.18.247.10"), true
		lookup := rec("hq", "10.0.0.8", "")
		lookup.Peer, lookup.PeerPort, lookup.Proto = netip.MustParseAddr("10.0.0.1"), 53, flowrec.UDP
		sen.Flow(lookup)   // the device used DNS...
		sen.Flow(exported) // ...but an exported record cannot tell a hard-coded address
	}
	if err := sen.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil { // drains the queues
		t.Fatal(err)
	}
	want := []string{
		key(alert.FirstContact, "hq", "10.0.0.5", "tiktok", ""),
		key(alert.PastDeadline, "hq", "10.0.0.5", "tiktok", "tiktok-ban"),
		key(alert.FirstContact, "hq", "10.9.0.7", "dji", ""),
		key(alert.GroupBlocked, "hq", "10.9.0.7", "dji", "drones-dji"),
		key(alert.FirstContact, "hq", "10.0.0.5", "dji", ""),
		key(alert.FirstContact, "branch-2", "10.0.0.5", "tiktok", ""),
		key(alert.PastDeadline, "branch-2", "10.0.0.5", "tiktok", "tiktok-ban"),
		key(alert.Bypass, "hq", "10.0.0.7", "cloudflare", "doh 1.1.1.1:443/tcp"),
		key(alert.FirstContact, "hq", "10.0.0.8", "tiktok", ""),
		key(alert.PastDeadline, "hq", "10.0.0.8", "tiktok", "tiktok-ban"),
	}
	sort.Strings(want)
	mu.Lock()
	sort.Strings(hooks)
	gotHooks, gotLogs := hooks, logs
	mu.Unlock()
	if d := cmp.Diff(want, gotHooks); d != "" {
		t.Errorf("webhook alerts -want +got\n%s", d)
	}
	if len(gotLogs) != len(want) {
		t.Errorf("%d syslog messages, want %d: %q", len(gotLogs), len(want), gotLogs)
	}
	for _, l := range gotLogs {
		if !strings.HasPrefix(l, "<") || !strings.Contains(l, ">1 2026-03-02T09:00:00") {
			t.Errorf("not an RFC 5424 message of the record's time: %q", l)
		}
	}
	kept, err := db.Alerts(ctx, store.Filter{Until: time.Unix(0, t0).Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var gotKept []string
	for _, a := range kept {
		dev, _ := strings.CutPrefix(a.Device, a.Site+"/")
		gotKept = append(gotKept, key(alert.Kind(a.Kind), a.Site, dev, a.Entity, a.Rule))
		if a.Summary == "" || a.Device != a.Site+"/"+dev {
			t.Errorf("kept alert %+v: no summary, or device not named SITE/ADDRESS", a)
		}
	}
	sort.Strings(gotKept)
	if d := cmp.Diff(want, gotKept); d != "" {
		t.Errorf("kept alerts -want +got\n%s", d)
	}
	bp, err := db.Bypass(ctx, store.Filter{Until: time.Unix(0, t0).Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(bp) != 1 || bp[0].Device != "hq/10.0.0.7" || bp[0].Kind != "doh" || bp[0].Owner != "cloudflare" || bp[0].Flows != 3 || bp[0].BytesOut != 300 {
		t.Errorf("bypass rows %+v, want one doh row of hq/10.0.0.7 to cloudflare, 3 flows, 300 bytes out", bp)
	}
}

func key(k alert.Kind, site, dev, ent, rule string) string {
	return string(k) + " " + site + " " + dev + " " + ent + " " + rule
}

// TestNoPolicyFirstContactOnly: without a policy only first contacts are
// raised, and the pair memory is bounded.
func TestNoPolicyFirstContactOnly(t *testing.T) {
	var got []alert.Alert
	det := New(Config{MaxPairs: 2}, Deps{Raise: func(a alert.Alert) bool { got = append(got, a); return true }})
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	a := attribute.New(ix)
	for i := range 5 {
		f := &flowrec.Flow{Device: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Peer: netip.MustParseAddr("203.0.113.9"), SNI: "www.tiktok.com", First: 1, Last: 1}
		det.Concern(f, a.Peer(attribute.Peer{Addr: f.Peer, Names: []attribute.Name{{Kind: attribute.TLSSNI, Value: f.SNI}}}))
	}
	if len(got) != 5 || len(det.pairs) > 2 {
		t.Fatalf("%d alerts (want 5 first contacts), %d pairs kept (bound 2)", len(got), len(det.pairs))
	}
	for _, x := range got {
		if x.Kind != alert.FirstContact || x.Rule != "" {
			t.Errorf("alert %s rule %q without a policy", x.Kind, x.Rule)
		}
	}
}

// TestSeedFromStore: a detector seeded from a store that has seen a device
// talk to an entity raises no first contact for that pair, and still does
// for a new pair and for the same address at another site.
func TestSeedFromStore(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "a.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	now := time.Now().Truncate(time.Second)
	rec := func(site, dev, sni string) *flowrec.Flow {
		return &flowrec.Flow{Site: site, Device: netip.MustParseAddr(dev), Peer: netip.MustParseAddr("203.0.113.9"), PeerPort: 443, Proto: 6,
			SNI: sni, BytesOut: 100, PacketsOut: 1, First: now.Add(-48 * time.Hour).UnixNano(), Last: now.Add(-48 * time.Hour).UnixNano()}
	}
	first := sensor.New(sensor.DefaultConfig(), sensor.Deps{Store: db, Attributor: &at})
	first.Flow(rec("hq", "10.0.0.5", "www.tiktok.com"))
	first.Flow(rec("", "10.0.0.6", "www.dji.com"))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	var got []string
	det := New(DefaultConfig(), Deps{Raise: func(a alert.Alert) bool {
		got = append(got, key(a.Kind, a.Site, a.Device.String(), a.Entity, a.Rule))
		return true
	}})
	n, err := det.Seed(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("seeded %d pairs, want 2", n)
	}
	for _, f := range []*flowrec.Flow{rec("hq", "10.0.0.5", "www.tiktok.com"), rec("", "10.0.0.6", "www.dji.com"),
		rec("hq", "10.0.0.5", "www.dji.com"), rec("branch", "10.0.0.5", "www.tiktok.com")} {
		det.Concern(f, at.Load().Flow(f))
	}
	want := []string{key(alert.FirstContact, "hq", "10.0.0.5", "dji", ""), key(alert.FirstContact, "branch", "10.0.0.5", "tiktok", "")}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("first contacts after seeding -want +got\n%s", d)
	}
}
