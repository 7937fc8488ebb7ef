package resolver

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// pathQuery runs one query through begin as the UDP reader does, without
// the network: the cost of the resolver's own work per query.
func pathQuery(tb testing.TB, h *harness, name string, qtype uint16) func() []byte {
	m := msg(name, qtype)
	m.SetEdns0(1232, false)
	req, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, 0, 65536)
	return func() []byte {
		x := h.srv.getExchange()
		x.cl = client{addr: loopback, proto: "udp", udp: true}
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
