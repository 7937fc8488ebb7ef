package flow

import (
	"net/netip"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/sniff/dnsmsg"
)

// udpService learns from DNS answers, DHCP and mDNS.
func (t *Tracker) udpService(p *decode.Packet, src, dst netip.AddrPort, now int64) {
	switch {
	case src.Port() == 53 || src.Port() == 5353:
		t.dnsAnswer(p, now)
	case src.Port() == 67 || src.Port() == 68:
		if a := t.devs.dhcp(p.Payload); a.IsValid() {
			t.onLink(a, "dhcp")
		}
	}
}

// dnsAnswer remembers, for the client that receives the answer, which names
// led to which addresses. The parse allocates nothing; only names kept in
// memory become strings, and those are interned. mDNS announcements name the
// device that sends them.
func (t *Tracker) dnsAnswer(p *decode.Packet, now int64) {
	m := &t.dnsMsg
	mdns := p.SrcPort == 5353
	var query string
	queryKnown := false
	client := p.Dst
	err := dnsmsg.Parse(p.Payload, m, func(r *dnsmsg.Record) bool {
		if !m.Response || r.Section != dnsmsg.Answer && !mdns {
			return false
		}
		if mdns {
			if r.Type == 1 && r.Addr == p.Src {
				b := r.Name.Bytes()
				if n := len(b); n > 6 && string(b[n-6:]) == ".local" {
					t.devs.name(p.Src, string(b[:n-6]), "mdns")
				}
			}
			return true
		}
		if m.RCode != 0 {
			return false
		}
		if !queryKnown {
			queryKnown = true
			query = t.intern(m.Question.Name.Bytes())
		}
		switch r.Type {
		case 5: // CNAME: a chain can hide a catalogued name behind an innocent one
			if t.cfg.Interesting != nil && !t.cfg.Interesting(query) {
				if tgt := r.Target.Bytes(); t.cfg.Interesting(string(tgt)) {
					query = t.intern(tgt)
				}
			}
		case 1, 28:
			t.dns.add(client, r.Addr.Unmap(), t.intern(r.Name.Bytes()), query, r.TTL, now)
		case 64, 65:
			owner := ""
			for _, a := range r.Hints() {
				if owner == "" {
					owner = t.intern(r.Name.Bytes())
				}
				t.dns.add(client, a.Unmap(), owner, query, r.TTL, now)
			}
		}
		return true
	})
	if err == nil && m.Response {
		t.Stats.DNSAnswers++
	}
}

// intern returns a string for a name, sharing one copy per distinct name so
// that answers repeated all day cost no new memory. The table is bounded.
func (t *Tracker) intern(b []byte) string {
	if s, ok := t.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.names) >= 2*t.cfg.MaxDNS {
		clear(t.names)
	}
	t.names[s] = s
	return s
}
