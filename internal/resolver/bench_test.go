package resolver

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// pathQuery runs one query through begin as the UDP reader does, without
// the network: the cost of the resolver's own work per query.
func pathQuery(tb testing.TB, h *harness, name string, qtype uint16) func() []byte {
	return pathQueryFrom(tb, h, name, qtype, loopback.String())
}

// pathQueryFrom is pathQuery for a client at ip.
func pathQueryFrom(tb testing.TB, h *harness, name string, qtype uint16, ip string) func() []byte {
	addr := netip.MustParseAddr(ip)
	m := msg(name, qtype)
	m.SetEdns0(1232, false)
	req, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, 0, 65536)
	return func() []byte {
		x := h.srv.getExchange()
		x.cl = client{addr: addr, proto: "udp", udp: true}
		resp, done := h.srv.begin(x, req, out[:0])
		h.srv.putExchange(x)
		if !done {
			tb.Fatalf("%s: not answered on the fast path", name)
		}
		return resp
	}
}

func warm(tb testing.TB, h *harness, names ...string) {
	for _, n := range names {
		h.ask(n, dns.TypeA)
	}
}

func rcodeOf(resp []byte) int { return int(resp[3] & 0xF) }

func TestFastPathDoesNotAllocate(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) { c.RateLimit.Rate = 0 })
	warm(t, h, "plain.example", "ali.example")
	for _, tc := range []struct {
		name  string
		rcode int
	}{{"plain.example", wire.RcodeSuccess}, {"ali.example", wire.RcodeSuccess}, {"www.tiktok.com", wire.RcodeNXDomain}} {
		q := pathQuery(t, h, tc.name, dns.TypeA)
		if got := rcodeOf(q()); got != tc.rcode {
			t.Fatalf("%s: rcode %d", tc.name, got)
		}
		if n := testing.AllocsPerRun(200, func() { q() }); n != 0 {
			t.Errorf("%s: %v allocations per query", tc.name, n)
		}
	}
}

func BenchmarkPath(b *testing.B) {
	h := newHarnessSinks(b, testPolicy, func(c *Config) { c.RateLimit.Rate = 0 }, false)
	warm(b, h, "plain.example", "www.innocent.example")
	for _, bc := range []struct{ name, qname string }{
		{"cache-hit", "plain.example"},
		{"blocked-qname", "www.tiktok.com"},
		{"blocked-cname-cached", "www.innocent.example"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := pathQuery(b, h, bc.qname, dns.TypeA)
			b.ReportAllocs()
			for b.Loop() {
				q()
			}
		})
	}
}

// hitNames are cached answers the test policy allows, asked as a stub
// resolver with 0x20 might: the question's case must come back as sent.
var hitNames = []struct {
	name  string
	qtype uint16
}{
	{"plain.example", dns.TypeA},
	{"ALI.example", dns.TypeA},
	{"acme.Example", dns.TypeA},
	{"status.tiktok.com", dns.TypeA},
	{"pLaIn.eXaMpLe", dns.TypeAAAA},
	{"short.example", dns.TypeA},
}

// BenchmarkHitPath is the hit path of issue 16 as a UDP query takes it,
// without the socket: six cached names in turn, the answer checks on, the
// query log written as JSON lines to a file (overflow: block, so that
// every entry is written, none shed). ns/op is one query; cpu-ns/query
// is the whole process's CPU time (user and system) a query, the query
// log's writer goroutine and the garbage collector included.
func BenchmarkHitPath(b *testing.B) {
	path := filepath.Join(b.TempDir(), "queries.jsonl")
	h := newHarnessSinks(b, testPolicy, func(c *Config) {
		c.RateLimit.Rate = 0
		c.QueryLog.Path = path
		c.QueryLog.Overflow = "block"
	}, false)
	qs := make([]func() []byte, len(hitNames))
	for i, n := range hitNames {
		h.ask(n.name, n.qtype)
		qs[i] = pathQuery(b, h, n.name, n.qtype)
		if rc := rcodeOf(qs[i]()); rc != wire.RcodeSuccess {
			b.Fatalf("%s: rcode %d", n.name, rc)
		}
	}
	before := h.srv.QueryLog()
	b.ReportAllocs()
	cpu0, cpuOK := processCPU()
	i := 0
	for b.Loop() {
		qs[i]()
		if i++; i == len(qs) {
			i = 0
		}
	}
	cpu1, _ := processCPU()
	if cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/query")
	}
	if c := h.srv.QueryLog(); c.Shed != before.Shed || c.Failed != before.Failed {
		b.Fatalf("query log shed %d, failed %d", c.Shed-before.Shed, c.Failed-before.Failed)
	}
}
