package resolver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy/policytest"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/resolvertest"
	"github.com/outflow-dev/outflow/internal/resolver/upstream"
)

// memorySink is a query log sink that keeps every entry.
type memorySink struct {
	mu      sync.Mutex
	entries []querylog.Entry
}

// Write appends the batch.
func (m *memorySink) Write(batch []querylog.Entry) error {
	m.mu.Lock()
	m.entries = append(m.entries, batch...)
	m.mu.Unlock()
	return nil
}

// Close does nothing.
func (m *memorySink) Close() error { return nil }

// Entries is a copy of what was written.
func (m *memorySink) Entries() []querylog.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]querylog.Entry(nil), m.entries...)
}

// zone is what the loopback upstream knows.
var zone = []string{
	"plain.example. 300 IN A 192.0.2.1",
	"short.example. 10 IN A 192.0.2.2",
	"www.innocent.example. 300 IN CNAME edge.tiktokcdn.com.",
	"edge.tiktokcdn.com. 300 IN A 192.0.2.10",
	"status.tiktok.com. 300 IN CNAME status.tiktokcdn.com.",
	"status.tiktokcdn.com. 300 IN A 192.0.2.11",
	"bd-addr.example. 300 IN A 71.18.5.5",
	"bd-addr6.example. 300 IN AAAA 2001:db8:bd::5",
	"ali.example. 300 IN A 47.74.0.1",
	"www.tiktok.com. 300 IN A 192.0.2.20",
	"svc.example. 300 IN HTTPS 1 www.tiktok.com.",
	"hint.example. 300 IN HTTPS 1 . ipv4hint=71.18.0.9",
	"acme.example. 300 IN A 192.0.2.30",
	"huawei.com. 300 IN A 192.0.2.40",
	"pagetest.example. 300 IN A 192.0.2.50",
	"nulltest.example. 300 IN A 192.0.2.51",
}

func init() {
	// A TXT answer well over 512 bytes, for truncation.
	for i := 0; i < 12; i++ {
		zone = append(zone, "big.example. 300 IN TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"")
	}
	// One over the 4 KB the answer buffers start at: they must grow.
	for i := 0; i < 100; i++ {
		zone = append(zone, fmt.Sprintf("huge.example. 300 IN TXT \"%03d 0123456789012345678901234567890123456789012345678901234567890123456789\"", i))
	}
}

const testPolicy = `
groups:
  - name: guest
    addresses: [127.0.0.2]
  - name: kiosk
    doh_paths: [/dns-query/kiosk]
  - name: dot-clients
    client_names: [dot.test]
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
    basis: test
    effective: 2026-01-19T00:00:00Z
    warning: 30d
    except:
      names: [status.tiktok.com]
  - id: fcc
    action: block
    lists: fcc-covered
    answer: refused
  - id: guest-acme
    action: block
    names: [acme.example]
    groups: [guest, kiosk, dot-clients]
  - id: page
    action: block
    names: [pagetest.example]
    answer: blockpage
    blockpage: [192.0.2.99]
  - id: nulled
    action: block
    names: [nulltest.example]
    answer: "null"
`

// clock is the injected time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var afterDeadline = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t          testing.TB
	auth       *resolvertest.Auth
	srv        *Server
	mem        *memorySink
	clock      *clock
	policyPath string
	udp, tcp   string
	dot, doh   string
	caFile     string
	metrics    string
	log        *syncBuffer // the resolver's slog output
}

// syncBuffer is a bytes.Buffer safe for the resolver's goroutines and the
// test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape reads the metrics page as a monitoring system would.
func (h *harness) scrape() string {
	h.t.Helper()
	resp, err := http.Get("http://" + h.metrics + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func newHarness(t testing.TB, policyYAML string, mutate func(*Config)) *harness {
	t.Helper()
	return newHarnessSinks(t, policyYAML, mutate, true)
}

// newHarnessSinks is newHarness, without the in-memory query log when
// withMem is false (benchmarks would fill memory with it).
func newHarnessSinks(t testing.TB, policyYAML string, mutate func(*Config), withMem bool) *harness {
	t.Helper()
	var sinks []querylog.Sink
	if withMem {
		sinks = append(sinks, nil) // the harness's own, made below
	}
	return newHarnessWith(t, policyYAML, mutate, sinks...)
}

// newHarnessWith is newHarness with these query log sinks (after the
// JSON-lines file when the configuration has one); a nil sink stands for
// the harness's in-memory log.
func newHarnessWith(t testing.TB, policyYAML string, mutate func(*Config), extra ...querylog.Sink) *harness {
	t.Helper()
	h := &harness{t: t, auth: resolvertest.NewAuth(t, zone...), mem: &memorySink{}, clock: &clock{t: afterDeadline}, log: &syncBuffer{}}
	dir := t.TempDir()
	h.policyPath = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(h.policyPath, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, key := resolvertest.Cert(t, "dot.test")
	h.caFile = cert
	cfg := DefaultConfig()
	cfg.Listen = Listen{UDP: []string{"127.0.0.1:0"}, TCP: []string{"127.0.0.1:0"},
		TLS:     []TLSListener{{Addr: "127.0.0.1:0", Cert: cert, Key: key}},
		HTTPS:   []HTTPSListener{{Addr: "127.0.0.1:0", Cert: cert, Key: key}},
		Workers: 2, MaxPending: 64, MaxTCP: 64, MaxTCPPerClient: 32, TCPIdle: 10 * time.Second, Batch: true}
	cfg.Upstream.Servers = []upstream.Server{{Address: h.auth.Addr}}
	cfg.Upstream.Timeout = 300 * time.Millisecond
	cfg.Upstream.FailAfter = 1
	cfg.Upstream.HealthInterval = time.Hour
	cfg.Policy = h.policyPath
	cfg.Reload.Watch = 0
	cfg.QueryLog.Flush = 10 * time.Millisecond
	cfg.Metrics.Listen = "127.0.0.1:0"
	if mutate != nil {
		mutate(&cfg)
	}
	var sinks []querylog.Sink
	for _, sk := range extra {
		if sk == nil {
			sk = h.mem
		}
		sinks = append(sinks, sk)
	}
	srv, err := New(cfg, Deps{Now: h.clock.Now, Sinks: sinks, Log: slog.New(slog.NewTextHandler(h.log, nil)),
		LoadCatalog: func(time.Time) (*catalog.Index, error) { return policytest.Compile() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h.srv = srv
	first := func(kind string) string {
		if a := srv.Addrs(kind); len(a) > 0 {
			return a[0].String()
		}
		return ""
	}
	h.udp, h.tcp, h.dot, h.doh, h.metrics = first("udp"), first("tcp"), first("dot"), first("doh"), first("metrics")
	return h
}

func msg(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

// ask sends a query over UDP and fails the test on a transport error.
func (h *harness) ask(name string, qtype uint16) *dns.Msg {
	h.t.Helper()
	r, err := h.exchange(&dns.Client{Net: "udp", Timeout: 2 * time.Second}, msg(name, qtype), h.udp)
	if err != nil {
		h.t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

func (h *harness) exchange(c *dns.Client, m *dns.Msg, addr string) (*dns.Msg, error) {
	r, _, err := c.Exchange(m, addr)
	return r, err
}

func (h *harness) tlsConfig() *tls.Config {
	pem, err := os.ReadFile(h.caFile)
	if err != nil {
		h.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: roots, ServerName: "dot.test"}
}

// from is a UDP client bound to another loopback address.
var loopback = netip.MustParseAddr("127.0.0.1")

func from(ip string) *dns.Client {
	return &dns.Client{Net: "udp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(ip)}}}
}

// logged waits for the query log to hold n entries and returns them.
func (h *harness) logged(n int) []querylog.Entry {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es := h.mem.Entries()
		if len(es) >= n || time.Now().After(deadline) {
			if len(es) < n {
				h.t.Fatalf("query log holds %d entries, want %d", len(es), n)
			}
			return es
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func answerA(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}
