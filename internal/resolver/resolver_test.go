package resolver

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
)

func TestEnforcement(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		rule   string
		reason string
		entity string
	}{
		{"allowed", "plain.example", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.1"}, "", "", ""},
		{"question name", "www.TikTok.com", dns.TypeA, dns.RcodeNameError, nil, "tiktok-ban", "qname", "tiktok-pte"},
		{"CNAME cloaking", "www.innocent.example", dns.TypeA, dns.RcodeNameError, nil, "tiktok-ban", "cname", "tiktok-pte"},
		{"question exception covers its CDN", "status.tiktok.com", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.11"}, "", "", "tiktok-pte"},
		{"address in the app owner's AS", "bd-addr.example", dns.TypeA, dns.RcodeNameError, nil, "tiktok-ban", "address", "bytedance"},
		{"IPv6 address in the app owner's AS", "bd-addr6.example", dns.TypeAAAA, dns.RcodeNameError, nil, "tiktok-ban", "address", "bytedance"},
		{"a cloud's address is not its customer's", "ali.example", dns.TypeA, dns.RcodeSuccess, []string{"47.74.0.1"}, "", "", ""},
		{"HTTPS target", "svc.example", dns.TypeHTTPS, dns.RcodeNameError, nil, "tiktok-ban", "target", "tiktok-pte"},
		{"HTTPS address hint", "hint.example", dns.TypeHTTPS, dns.RcodeNameError, nil, "tiktok-ban", "address", "bytedance"},
		{"list, refused", "huawei.com", dns.TypeA, dns.RcodeRefused, nil, "fcc", "qname", "huawei"},
		{"blockpage", "pagetest.example", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.99"}, "page", "qname", ""},
		{"blockpage, no IPv6 page", "pagetest.example", dns.TypeAAAA, dns.RcodeSuccess, nil, "page", "qname", ""},
		{"null", "nulltest.example", dns.TypeAAAA, dns.RcodeSuccess, []string{"::"}, "nulled", "qname", ""},
		{"rule for another group", "acme.example", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.30"}, "", "", "acme"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second answer comes from the cache and must be
			// checked the same way.
			for pass := 0; pass < 2; pass++ {
				r := h.ask(tc.qname, tc.qtype)
				if r.Rcode != tc.rcode {
					t.Fatalf("pass %d: rcode %s, want %s", pass, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if diff := cmp.Diff(tc.answer, answerA(r)); diff != "" {
					t.Errorf("pass %d: answer (-want +got):\n%s", pass, diff)
				}
			}
			es := h.logged(2 * (i + 1))
			e := es[2*i+1]
			if e.Name() != strings.ToLower(tc.qname) || e.Rule != tc.rule || e.Reason != tc.reason || e.Entity != tc.entity {
				t.Errorf("log: name %q rule %q reason %q entity %q; want %q %q %q", e.Name(), e.Rule, e.Reason, e.Entity, tc.rule, tc.reason, tc.entity)
			}
			if !e.Cached && tc.reason != "qname" {
				t.Errorf("second query not from the cache")
			}
		})
	}
}

func TestBlockedAnswerCarriesEDE(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	m := msg("www.tiktok.com", dns.TypeA)
	m.SetEdns0(1232, false)
	r, err := h.exchange(&dns.Client{}, m, h.udp)
	if err != nil {
		t.Fatal(err)
	}
	opt := r.IsEdns0()
	if opt == nil || len(opt.Option) != 1 {
		t.Fatalf("no OPT/EDE: %v", r)
	}
	if ede := opt.Option[0].(*dns.EDNS0_EDE); ede.InfoCode != dns.ExtendedErrorCodeBlocked || ede.ExtraText != "tiktok-ban" {
		t.Errorf("EDE = %v", ede)
	}
}

func TestGroups(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	r, err := h.exchange(from("127.0.0.2"), msg("acme.example", dns.TypeA), h.udp)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("guest: acme.example %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := h.ask("acme.example", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Errorf("other client: acme.example %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	es := h.logged(2)
	if es[0].Group != "guest" || es[0].Client.String() != "127.0.0.2" || es[1].Group != "" {
		t.Errorf("log groups %q (%v), %q", es[0].Group, es[0].Client, es[1].Group)
	}
	// DoH path groups.
	if got := h.doh1(t, "/dns-query/kiosk", "acme.example", http.MethodPost); got.Rcode != dns.RcodeNameError {
		t.Errorf("kiosk path: %s", dns.RcodeToString[got.Rcode])
	}
	if got := h.doh1(t, "/dns-query", "acme.example", http.MethodGet); got.Rcode != dns.RcodeSuccess {
		t.Errorf("plain path: %s", dns.RcodeToString[got.Rcode])
	}
}

func (h *harness) doh1(t *testing.T, path, name, method string) *dns.Msg {
	t.Helper()
	m := msg(name, dns.TypeA)
	m.Id = 0
	b, _ := m.Pack()
	conf := h.tlsConfig()
	conf.ServerName = "localhost" // not dot.test: that name is a group of its own
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}, Timeout: 5 * time.Second}
	url := "https://" + h.doh + path
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = cl.Get(url + "?dns=" + base64.RawURLEncoding.EncodeToString(b))
	} else {
		resp, err = cl.Post(url, "application/dns-message", bytes.NewReader(b))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/dns-message" {
		t.Fatalf("DoH %s: %s %s", path, resp.Status, body)
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeadline(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	tests := []struct {
		name    string
		now     time.Time
		rcode   int
		verdict string
	}{
		{"before the warning period", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), dns.RcodeSuccess, "allow"},
		{"warning period: answered, due", time.Date(2026, 1, 18, 23, 59, 0, 0, time.UTC), dns.RcodeSuccess, "due"},
		{"deadline passed: blocked", time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC), dns.RcodeNameError, "block"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.clock.Set(tc.now)
			for j, name := range []string{"www.tiktok.com", "www.innocent.example"} {
				if r := h.ask(name, dns.TypeA); r.Rcode != tc.rcode {
					t.Errorf("%s: %s, want %s", name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				e := h.logged(2*i + j + 1)[2*i+j]
				if e.Verdict != tc.verdict {
					t.Errorf("%s: logged verdict %q, want %q", name, e.Verdict, tc.verdict)
				}
				if tc.verdict != "allow" && !e.Deadline.Equal(time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("deadline %v", e.Deadline)
				}
			}
		})
	}
}

func TestUpstreamLoss(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	h.clock.Set(time.Date(2026, 1, 18, 23, 0, 0, 0, time.UTC))
	if r := h.ask("short.example", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Fatal(r)
	}
	if r := h.ask("www.innocent.example", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("due: %v", r)
	}
	h.auth.Stop()
	// Past the deadline; every entry expired, within the stale window.
	h.clock.Add(90 * time.Minute)
	tests := []struct {
		name  string
		qname string
		rcode int
		ttl   uint32
	}{
		{"cached name served stale", "short.example", dns.RcodeSuccess, 30},
		{"banned name stays blocked", "www.tiktok.com", dns.RcodeNameError, 0},
		{"stale cloaked name is still checked", "www.innocent.example", dns.RcodeNameError, 0},
		{"unknown name fails closed", "never-asked.example", dns.RcodeServerFailure, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.ask(tc.qname, dns.TypeA)
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			if tc.ttl != 0 && (len(r.Answer) != 1 || r.Answer[0].Header().Ttl != tc.ttl) {
				t.Errorf("answer %v, want TTL %d", r.Answer, tc.ttl)
			}
		})
	}
	h.auth.Restart()
	h.srv.pool.Check(t.Context())
	if r := h.ask("never-asked.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after recovery: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestReload(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Fatal(r)
	}
	good := testPolicy + "  - id: new\n    action: block\n    names: [plain.example]\n"
	if err := os.WriteFile(h.policyPath, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after reload: plain.example %s, want NXDOMAIN (cached answer re-checked)", dns.RcodeToString[r.Rcode])
	}
	broken := "rules:\n  - action: block\n    entitys: [bytedance]\n"
	if err := os.WriteFile(h.policyPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	err := h.srv.Reload()
	if err == nil || !strings.Contains(err.Error(), `policy.yaml:3:5: unknown key "entitys" in rules[0]; allowed: action,`) {
		t.Fatalf("broken policy: err = %v", err)
	}
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after a refused reload the old policy must hold: %s", dns.RcodeToString[r.Rcode])
	}
	unknown := "rules:\n  - action: block\n    entities: [no-such-entity]\n"
	os.WriteFile(h.policyPath, []byte(unknown), 0o644)
	if err := h.srv.Reload(); err == nil || !strings.Contains(err.Error(), "no-such-entity") {
		t.Errorf("policy naming an unknown entity: err = %v", err)
	}
}

func TestReloadOnFileChange(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) { c.Reload.Watch = 20 * time.Millisecond })
	os.WriteFile(h.policyPath, []byte(testPolicy+"  - id: new\n    action: block\n    names: [plain.example]\n"), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.state.Load().gen == 1 {
		if time.Now().After(deadline) {
			t.Fatal("the changed policy file was not reloaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after the watcher's reload: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) { c.RateLimit.Rate, c.RateLimit.Burst = 1, 3 })
	ok := 0
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	for i := 0; i < 5; i++ {
		if _, err := h.exchange(c, msg("plain.example", dns.TypeA), h.udp); err == nil {
			ok++
		}
	}
	if ok != 3 {
		t.Errorf("%d of 5 answered over UDP with a burst of 3 and a frozen clock", ok)
	}
	r, err := h.exchange(&dns.Client{Net: "tcp", Timeout: time.Second}, msg("plain.example", dns.TypeA), h.tcp)
	if err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("TCP over the limit: %v %v, want REFUSED", r, err)
	}
	if _, err := h.exchange(from("127.0.0.3"), msg("plain.example", dns.TypeA), h.udp); err != nil {
		t.Errorf("another client is limited too: %v", err)
	}
	h.clock.Add(2 * time.Second)
	if _, err := h.exchange(c, msg("plain.example", dns.TypeA), h.udp); err != nil {
		t.Errorf("no token after two seconds: %v", err)
	}
	es := h.logged(8)
	limited := 0
	for _, e := range es {
		if e.Reason == "rate-limit" {
			limited++
		}
	}
	if limited != 3 {
		t.Errorf("%d rate-limited queries logged, want 3", limited)
	}
}

func TestMalformedPackets(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	conn, err := net.Dial("udp", h.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	good, _ := msg("plain.example", dns.TypeA).Pack()
	resp := good[:len(good):len(good)]
	resp = append([]byte(nil), resp...)
	resp[2] |= 0x80
	packets := [][]byte{
		{}, {0}, []byte("garbage"), bytes.Repeat([]byte{0xff}, 600), resp,
		good[:len(good)-2], append(append([]byte(nil), good...), 1, 2, 3),
		{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},
	}
	for _, p := range packets {
		conn.Write(p)
	}
	// A readable header gets FORMERR; then the server still answers.
	conn.Write(good[:len(good)-2])
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no FORMERR: %v", err)
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) == nil && m.Rcode == dns.RcodeFormatError {
			break
		}
	}
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after garbage: %v", r)
	}
	// Over TCP, garbage ends the connection, not the server.
	tc, err := net.Dial("tcp", h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte{0, 3, 1, 2, 3})
	tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := tc.Read(buf); err == nil {
		t.Error("TCP garbage was answered")
	}
	tc.Close()
	if r, err := h.exchange(&dns.Client{Net: "tcp"}, msg("plain.example", dns.TypeA), h.tcp); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("TCP after garbage: %v %v", r, err)
	}
}

func TestTruncation(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	// Without EDNS: at most 512 bytes, so truncated.
	c := &dns.Client{Net: "udp", UDPSize: 65535}
	conn, err := c.Dial(h.udp)
	if err != nil {
		t.Fatal(err)
	}
	conn.UDPSize = 65535
	defer conn.Close()
	if err := conn.WriteMsg(msg("big.example", dns.TypeTXT)); err != nil {
		t.Fatal(err)
	}
	raw, err := conn.ReadMsgHeader(nil)
	_ = raw
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.exchange(&dns.Client{Net: "udp"}, msg("big.example", dns.TypeTXT), h.udp)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("no EDNS: truncated=%v with %d answers", r.Truncated, len(r.Answer))
	}
	if r.Len() > 512 {
		t.Errorf("no EDNS: %d bytes", r.Len())
	}
	m := msg("big.example", dns.TypeTXT)
	m.SetEdns0(4096, false)
	r, err = h.exchange(&dns.Client{Net: "udp", UDPSize: 4096}, m, h.udp)
	if err != nil || r.Truncated || len(r.Answer) != 12 {
		t.Errorf("EDNS 4096: %v truncated=%v answers=%d", err, r.Truncated, len(r.Answer))
	}
	m = msg("big.example", dns.TypeTXT)
	m.SetEdns0(600, false)
	r, err = h.exchange(&dns.Client{Net: "udp", UDPSize: 4096}, m, h.udp)
	if err != nil || !r.Truncated || r.Len() > 600 || r.IsEdns0() == nil {
		t.Errorf("EDNS 600: %v truncated=%v len=%d", err, r.Truncated, r.Len())
	}
	r, err = h.exchange(&dns.Client{Net: "tcp"}, msg("big.example", dns.TypeTXT), h.tcp)
	if err != nil || r.Truncated || len(r.Answer) != 12 {
		t.Errorf("TCP: %v truncated=%v answers=%d", err, r.Truncated, len(r.Answer))
	}
	// Over one TCP connection: an answer larger than the connection's
	// first buffers, then a small one, then the large one again.
	tc, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Dial(h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for i, want := range []struct {
		name string
		n    int
	}{{"huge.example", 100}, {"big.example", 12}, {"huge.example", 100}} {
		if err := tc.WriteMsg(msg(want.name, dns.TypeTXT)); err != nil {
			t.Fatal(err)
		}
		r, err := tc.ReadMsg()
		if err != nil || r.Truncated || len(r.Answer) != want.n || r.Len() < 100*70 && want.n == 100 {
			t.Fatalf("TCP query %d %s: %v truncated=%v answers=%d\n%v", i, want.name, err, r != nil && r.Truncated, len(r.Answer), r)
		}
	}
}

func TestProtocols(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	dot := &dns.Client{Net: "tcp-tls", TLSConfig: h.tlsConfig(), Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name string
		c    *dns.Client
		addr string
	}{{"tcp", &dns.Client{Net: "tcp"}, h.tcp}, {"dot", dot, h.dot}} {
		t.Run(tc.name, func(t *testing.T) {
			// acme.example is blocked for clients that reach DoT by the
			// name dot.test (a group by client name), not over TCP.
			acme := dns.RcodeSuccess
			if tc.name == "dot" {
				acme = dns.RcodeNameError
			}
			for qname, want := range map[string]int{"plain.example": dns.RcodeSuccess, "www.tiktok.com": dns.RcodeNameError, "acme.example": acme} {
				r, err := h.exchange(tc.c, msg(qname, dns.TypeA), tc.addr)
				if err != nil || r.Rcode != want {
					t.Errorf("%s: %v %v", qname, r, err)
				}
			}
		})
	}
	t.Run("doh", func(t *testing.T) {
		if r := h.doh1(t, "/dns-query", "www.innocent.example", http.MethodPost); r.Rcode != dns.RcodeNameError {
			t.Errorf("DoH CNAME cloaking: %s", dns.RcodeToString[r.Rcode])
		}
	})
	es := h.logged(7)
	protos := map[string]int{}
	for _, e := range es {
		protos[e.Proto]++
	}
	if protos["tcp"] != 3 || protos["dot"] != 3 || protos["doh"] != 1 {
		t.Errorf("logged protocols %v", protos)
	}
}

func TestQueryLogAndMetrics(t *testing.T) {
	path := t.TempDir() + "/q.jsonl"
	h := newHarness(t, testPolicy, func(c *Config) { c.QueryLog.Path = path })
	h.ask("www.tiktok.com", dns.TypeA)
	h.ask("plain.example", dns.TypeA)
	h.logged(2)
	resp, err := http.Get("http://" + h.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`outflow_resolver_verdicts_total{entity="tiktok-pte",group="",verdict="block"} 1`,
		`outflow_resolver_queries_total{proto="udp"} 2`,
		`outflow_resolver_cache_total{result="miss"} 1`,
		`outflow_resolver_upstream_healthy{upstream="` + h.auth.Addr + `"} 1`,
		`outflow_resolver_querylog_shed_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	h.srv.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []querylog.Record
	if _, err := querylog.Read(f, func(r *querylog.Record) error { recs = append(recs, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Verdict != "block" || recs[0].RCode != "NXDOMAIN" || recs[0].Client != "127.0.0.1" || recs[1].Name != "plain.example" {
		t.Errorf("JSON lines: %+v", recs)
	}
}

// TestUDPWithoutBatch runs the one-datagram-a-call reader.
func TestUDPWithoutBatch(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) { c.Listen.Batch = false })
	for name, want := range map[string]int{"plain.example": dns.RcodeSuccess, "www.innocent.example": dns.RcodeNameError, "www.tiktok.com": dns.RcodeNameError} {
		if r := h.ask(name, dns.TypeA); r.Rcode != want {
			t.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
		}
	}
	r, err := h.exchange(&dns.Client{Net: "udp"}, msg("big.example", dns.TypeTXT), h.udp)
	if err != nil || !r.Truncated || r.Len() > 512 {
		t.Errorf("truncation: %v %v", r, err)
	}
}
