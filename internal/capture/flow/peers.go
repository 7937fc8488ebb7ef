package flow

import "net/netip"

// peerMemory remembers the last name (SNI) and certificate organisation
// seen for a server address, so that flows whose handshake the capture
// missed (they began before it) still get the name the server answered to.
type peerMemory struct {
	m   map[netip.Addr]peerEntry
	max int
}

type peerEntry struct{ name, org string }

func (p *peerMemory) init(max int) {
	if max <= 0 {
		max = 200_000
	}
	p.m, p.max = make(map[netip.Addr]peerEntry, 256), max
}

func (p *peerMemory) add(a netip.Addr, name, org string) {
	if len(p.m) >= p.max {
		for k := range p.m {
			delete(p.m, k)
			break
		}
	}
	e := p.m[a]
	if name != "" {
		e.name = name
	}
	if org != "" {
		e.org = org
	}
	p.m[a] = e
}

func (p *peerMemory) lookup(a netip.Addr) (name, org string) {
	e := p.m[a]
	return e.name, e.org
}
