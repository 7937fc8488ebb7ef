package resolver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzServe sends anything a client could send through the resolver's
// fast path, as the UDP reader does: it must never panic, and whatever it
// answers must be a DNS message.
func FuzzServe(f *testing.F) {
	h := newHarnessSinks(f, testPolicy, func(c *Config) { c.RateLimit.Rate = 0 }, false)
	warm(f, h, "plain.example", "www.innocent.example", "big.example")
	for _, n := range []string{"plain.example", "www.tiktok.com", "www.innocent.example", "big.example", "pagetest.example"} {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT} {
			m := msg(n, t)
			b, _ := m.Pack()
			f.Add(b)
			m.SetEdns0(512, true)
			b, _ = m.Pack()
			f.Add(b)
		}
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1})
	out := make([]byte, 0, 65536)
	f.Fuzz(func(t *testing.T, req []byte) {
		x := h.srv.getExchange()
		x.cl = client{addr: loopback, proto: "udp", udp: true}
		resp, done := h.srv.begin(x, req, out[:0])
		h.srv.putExchange(x)
		if !done || resp == nil {
			return
		}
		var m dns.Msg
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("answer does not unpack: %v\nquery  %x\nanswer %x", err, req, resp)
		}
		if len(resp) > 512 {
			var q dns.Msg
			if q.Unpack(req) == nil && (q.IsEdns0() == nil || len(resp) > int(q.IsEdns0().UDPSize())) {
				t.Fatalf("UDP answer of %d bytes to %x", len(resp), req)
			}
		}
	})
}
