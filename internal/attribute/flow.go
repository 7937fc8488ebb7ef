package attribute

import "net/netip"

// Name is a hostname with how it was learned.
type Name struct {
	Kind  EvidenceKind
	Value string
}

// Peer is what is known of the far end of a flow.
type Peer struct {
	Addr    netip.Addr
	Names   []Name
	CertOrg string
}

// Result is the attribution of a flow's peer: Owner is the strongest
// evidence of whose service it is (by name or certificate, else by address);
// Host is who the address belongs to, when that is a different entity or
// the only thing known.
type Result struct {
	Owner Attribution
	Host  Attribution
}

// Peer attributes the far end of a flow: names first, in order of
// strength, then the certificate, then the address's AS.
func (at *Attributor) Peer(p Peer) Result {
	var best Attribution
	for _, n := range p.Names {
		if a := at.Name(n.Kind, n.Value); a.Better(best) {
			best = a
		}
	}
	if p.CertOrg != "" {
		if a := at.CertOrg(p.CertOrg); a.Better(best) {
			best = a
		}
	}
	var host Attribution
	if p.Addr.IsValid() {
		host = at.Addr(p.Addr)
	}
	if best.Entity == nil {
		return Result{Owner: host, Host: host}
	}
	return Result{Owner: best, Host: host}
}
