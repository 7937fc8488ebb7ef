package flow

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// udpService learns from DNS answers, DHCP and mDNS. It reports whether the
// packet was one of those.
func (t *Tracker) udpService(p *decode.Packet, src, dst netip.AddrPort, now int64) bool {
	switch {
	case src.Port() == 53 || src.Port() == 5353 && dst.Port() == 5353 || src.Port() == 5353:
		t.dnsAnswer(p, now)
		return true
	case src.Port() == 67 || src.Port() == 68:
		t.devs.dhcp(p.Payload)
		return true
	}
	return false
}

// dnsAnswer remembers, for the client that receives the answer, which names
// led to which addresses, following the CNAME chain from the question. It
// uses miekg/dns, which allocates per message; DNS is a small share of
// packets. mDNS announcements name the device that sends them.
func (t *Tracker) dnsAnswer(p *decode.Packet, now int64) {
	var m dns.Msg
	if m.Unpack(p.Payload) != nil || !m.Response {
		return
	}
	t.Stats.DNSAnswers++
	mdns := p.SrcPort == 5353
	if mdns {
		for _, rr := range append(m.Answer, m.Extra...) {
			if a, ok := rr.(*dns.A); ok && strings.HasSuffix(strings.ToLower(a.Hdr.Name), ".local.") {
				if ip, ok := netip.AddrFromSlice(a.A.To4()); ok && ip == p.Src {
					t.devs.name(p.Src, strings.TrimSuffix(strings.TrimSuffix(a.Hdr.Name, "."), ".local"), "mdns")
				}
			}
		}
		return
	}
	if m.Rcode != dns.RcodeSuccess || len(m.Question) == 0 {
		return
	}
	query := strings.ToLower(strings.TrimSuffix(m.Question[0].Name, "."))
	if t.cfg.Interesting != nil && !t.cfg.Interesting(query) {
		// A CNAME chain can hide a catalogued name behind an innocent
		// one: remember the first name of the chain the catalog knows.
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok {
				if n := strings.ToLower(strings.TrimSuffix(c.Target, ".")); t.cfg.Interesting(n) {
					query = n
					break
				}
			}
		}
	}
	client := p.Dst
	// Owner names along the chain; an address record names its owner.
	for _, rr := range m.Answer {
		owner := strings.ToLower(strings.TrimSuffix(rr.Header().Name, "."))
		var ip netip.Addr
		switch r := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(r.A.To4())
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(r.AAAA)
		case *dns.HTTPS:
			t.svcbHints(client, owner, query, r.Hdr.Ttl, r.Value, now)
			continue
		case *dns.SVCB:
			t.svcbHints(client, owner, query, r.Hdr.Ttl, r.Value, now)
			continue
		default:
			continue
		}
		if ip.IsValid() {
			t.dns.add(client, ip.Unmap(), owner, query, rr.Header().Ttl, now)
		}
	}
}

func (t *Tracker) svcbHints(client netip.Addr, owner, query string, ttl uint32, kv []dns.SVCBKeyValue, now int64) {
	for _, v := range kv {
		switch h := v.(type) {
		case *dns.SVCBIPv4Hint:
			for _, a := range h.Hint {
				if ip, ok := netip.AddrFromSlice(a.To4()); ok {
					t.dns.add(client, ip, owner, query, ttl, now)
				}
			}
		case *dns.SVCBIPv6Hint:
			for _, a := range h.Hint {
				if ip, ok := netip.AddrFromSlice(a); ok {
					t.dns.add(client, ip.Unmap(), owner, query, ttl, now)
				}
			}
		}
	}
}
