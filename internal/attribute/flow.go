package attribute

import (
	"net/netip"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

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
	// Target is the last name of a DNS CNAME chain when it differs from
	// the name the device asked for (which is among Names): the asked
	// name says whose service the device wanted; a catalogued target that
	// is a cloud or CDN says who hosts it.
	Target string
	// Signature is an application protocol recognised by its payload,
	// weaker than any name or certificate.
	Signature string
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
		at.pick(&best, n.Kind, n.Value)
	}
	return at.rest(best, p.Addr, p.CertOrg, p.Signature, p.Target)
}

// pick makes the name's attribution best if it is better.
func (at *Attributor) pick(best *Attribution, k EvidenceKind, v string) {
	if v == "" {
		return
	}
	if a := at.Name(k, v); a.Better(*best) {
		*best = a
	}
}

// rest completes the attribution of a peer whose names gave best.
func (at *Attributor) rest(best Attribution, addr netip.Addr, certOrg, signature, target string) Result {
	if certOrg != "" {
		if a := at.CertOrg(certOrg); a.Better(best) {
			best = a
		}
	}
	if signature != "" {
		if a := at.Protocol(signature); a.Better(best) {
			best = a
		}
	}
	var host Attribution
	if addr.IsValid() {
		host = at.Addr(addr)
	}
	if target != "" {
		if ta := at.Name(DNSAnswer, target); ta.Entity != nil {
			switch {
			case ta.Role == catalog.RoleHost || ta.Role == catalog.RoleCarrier:
				// the name points into a cloud or CDN: its host, named
				// more surely than by the address's AS
				host = ta
			case best.Entity == nil:
				// an uncatalogued name that leads into an owner's service
				best = ta
			}
		}
	}
	if best.Entity == nil {
		return Result{Owner: host, Host: host}
	}
	return Result{Owner: best, Host: host}
}

// Flow attributes a flow record's peer from everything the record
// carries: its names in order of strength, the certificate, the CNAME
// target and a payload signature. Scan and sensor both attribute through
// it, so that one record gets one answer whichever job sees it.
func (a *Attributor) Flow(f *flowrec.Flow) Result {
	// the order of Peer.Names: a tie goes to the first
	var best Attribution
	a.pick(&best, TLSSNI, f.SNI)
	a.pick(&best, QUICSNI, f.QUICSNI)
	a.pick(&best, HTTPHost, f.HTTPHost)
	a.pick(&best, XMPPTo, f.XMPPTo)
	// The name the device asked for names the owner; the end of its CNAME
	// chain, when different, is the target (a cloud or CDN: the host).
	target := ""
	if f.DNSQuery != "" {
		a.pick(&best, DNSAnswer, f.DNSQuery)
		target = f.DNSName
	} else {
		a.pick(&best, DNSAnswer, f.DNSName)
	}
	a.pick(&best, Hostname, f.PeerName)
	return a.rest(best, f.Peer, f.CertOrg, f.Signature, target)
}
