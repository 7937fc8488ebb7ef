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
		if a := at.Name(n.Kind, n.Value); a.Better(best) {
			best = a
		}
	}
	if p.CertOrg != "" {
		if a := at.CertOrg(p.CertOrg); a.Better(best) {
			best = a
		}
	}
	if p.Signature != "" {
		if a := at.Protocol(p.Signature); a.Better(best) {
			best = a
		}
	}
	var host Attribution
	if p.Addr.IsValid() {
		host = at.Addr(p.Addr)
	}
	if p.Target != "" {
		if ta := at.Name(DNSAnswer, p.Target); ta.Entity != nil {
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
	var names [6]Name
	n := 0
	add := func(k EvidenceKind, v string) {
		if v != "" {
			names[n] = Name{Kind: k, Value: v}
			n++
		}
	}
	add(TLSSNI, f.SNI)
	add(QUICSNI, f.QUICSNI)
	add(HTTPHost, f.HTTPHost)
	// The name the device asked for names the owner; the end of its CNAME
	// chain, when different, is the target (a cloud or CDN: the host).
	target := ""
	if f.DNSQuery != "" {
		add(DNSAnswer, f.DNSQuery)
		target = f.DNSName
	} else {
		add(DNSAnswer, f.DNSName)
	}
	add(Hostname, f.PeerName)
	return a.Peer(Peer{Addr: f.Peer, Names: names[:n], CertOrg: f.CertOrg, Target: target, Signature: f.Signature})
}
