// Package attribute turns an observation (a hostname and how it was learned,
// an address, a certificate subject, an app or SDK identifier, a MAC
// address) into an attribution: the entity behind it, its owner chain, its
// role here, the official lists of each link, the evidence and the catalog
// rule with its source, and a confidence. It is the one place the whole
// program asks "who is this?".
//
// Hostname evidence outranks the address's ASN: an address in a cloud's
// prefix says who hosts the service, not whose app it is.
//
// It is part of the core and must never import a source, sink or command
// package.
package attribute

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// EvidenceKind says how an indicator was learned. The order of the
// constants is the order of strength of the evidence.
type EvidenceKind uint8

// Evidence kinds, strongest first.
const (
	None        EvidenceKind = iota
	TLSSNI                   // server name in a TLS ClientHello
	QUICSNI                  // server name in a QUIC Initial's ClientHello
	HTTPHost                 // HTTP Host header
	XMPPTo                   // the domain an XMPP client named in its stream header
	DNSAnswer                // the peer address was in a DNS answer for the name
	DNSQuery                 // a client asked for the name (resolver)
	Hostname                 // a name given by a user or found in an app
	CertSubject              // TLS certificate subject organisation
	Signature                // the payload has the shape of an owner's protocol (no name in it)
	ASN                      // the address is in a prefix announced by the AS
	AppID                    // Android package name or iOS bundle id
	SDKClass                 // a class in an SDK's Java package
	Program                  // a desktop program's publisher
	MACOUI                   // the hardware address's vendor prefix
)

var kindNames = [...]string{
	None: "none", TLSSNI: "tls-sni", QUICSNI: "quic-sni", HTTPHost: "http-host", XMPPTo: "xmpp-to",
	DNSAnswer: "dns-answer", DNSQuery: "dns-query", Hostname: "hostname",
	CertSubject: "cert-subject", Signature: "payload-signature", ASN: "asn", AppID: "app-id", SDKClass: "sdk-class",
	Program: "program", MACOUI: "mac-oui",
}

func (k EvidenceKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// IsName reports evidence that is a hostname.
func (k EvidenceKind) IsName() bool { return k >= TLSSNI && k <= Hostname }

// MarshalText names the kind in JSON.
func (k EvidenceKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name, for tools that read outflow's JSON.
func (k *EvidenceKind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = EvidenceKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown evidence kind %q", b)
}

// Confidence grades an attribution.
type Confidence uint8

// Confidence levels.
const (
	Low Confidence = iota + 1
	Medium
	High
)

func (c Confidence) String() string {
	switch c {
	case High:
		return "high"
	case Medium:
		return "medium"
	case Low:
		return "low"
	}
	return "none"
}

// MarshalText names the confidence in JSON.
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a confidence's name.
func (c *Confidence) UnmarshalText(b []byte) error {
	for _, v := range []Confidence{0, Low, Medium, High} {
		if v.String() == string(b) {
			*c = v
			return nil
		}
	}
	return fmt.Errorf("unknown confidence %q", b)
}

// Attribution is the answer to "who is this?". The zero value means no
// catalogued entity. Entity, Asset and their chains are shared, read-only.
type Attribution struct {
	Entity     *catalog.Entity
	Role       catalog.Role
	Kind       EvidenceKind // how the indicator was learned
	Value      string       // the indicator as seen
	Asset      *catalog.Asset
	Confidence Confidence
}

// Found reports whether an entity was attributed.
func (a Attribution) Found() bool { return a.Entity != nil }

// Chain is the entity and its controlling owners up to the ultimate parent.
func (a Attribution) Chain() []*catalog.Entity {
	if a.Entity == nil {
		return nil
	}
	return a.Entity.Chain
}

// Owner is the ultimate parent.
func (a Attribution) Owner() *catalog.Entity {
	c := a.Chain()
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1]
}

// Lists are the official lists of every link of the chain.
func (a Attribution) Lists() []catalog.Membership {
	if a.Entity == nil {
		return nil
	}
	return a.Entity.Memberships
}

// Concern reports whether the attribution is to an entity that matters for
// a report: any catalogued entity except a chip maker, whose OUI tells the
// component, not where the data goes.
func (a Attribution) Concern() bool { return a.Entity != nil && a.Role != catalog.RoleChip }

// Better reports whether a is stronger evidence than b.
func (a Attribution) Better(b Attribution) bool {
	if a.Entity == nil {
		return false
	}
	if b.Entity == nil {
		return true
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Confidence > b.Confidence
}

// Attributor answers with one catalog index. It is safe for concurrent use
// and its methods do not allocate.
type Attributor struct {
	ix *catalog.Index
}

// New returns an Attributor over a compiled catalog.
func New(ix *catalog.Index) *Attributor { return &Attributor{ix: ix} }

// Index is the catalog the attributor reads.
func (at *Attributor) Index() *catalog.Index { return at.ix }

func (at *Attributor) from(a *catalog.Asset, k EvidenceKind, v string) Attribution {
	if a == nil {
		return Attribution{}
	}
	r := Attribution{Entity: a.Entity, Role: a.Role, Kind: k, Value: v, Asset: a}
	switch {
	case k.IsName() || k == CertSubject || k == AppID || k == SDKClass:
		r.Confidence = High
	case k == ASN || k == Program:
		r.Confidence = Medium
	default:
		r.Confidence = Low
	}
	if a.Status == catalog.Unverified && r.Confidence > Low {
		r.Confidence--
	}
	return r
}

// Name attributes a hostname learned as kind.
func (at *Attributor) Name(kind EvidenceKind, name string) Attribution {
	return at.from(at.ix.LookupDomain(name), kind, name)
}

// NameBytes is Name for a name already lowercased without a trailing dot;
// the Value of the result is empty, so that nothing is allocated: callers
// keep the name themselves.
func (at *Attributor) NameBytes(kind EvidenceKind, name []byte) Attribution {
	return at.from(at.ix.LookupDomainBytes(name), kind, "")
}

// Addr attributes an address by the announced prefix that holds it.
func (at *Attributor) Addr(ip netip.Addr) Attribution {
	a := at.ix.LookupAddr(ip)
	if a == nil {
		return Attribution{}
	}
	return at.from(a, ASN, a.Name)
}

// CertOrg attributes a certificate subject organisation.
func (at *Attributor) CertOrg(org string) Attribution {
	return at.from(at.ix.LookupCertOrg(org), CertSubject, org)
}

// Protocol attributes an application protocol recognised by its payload.
func (at *Attributor) Protocol(id string) Attribution {
	return at.from(at.ix.LookupProtocol(id), Signature, id)
}

// App attributes an Android package name or iOS bundle id.
func (at *Attributor) App(id string) Attribution { return at.from(at.ix.LookupApp(id), AppID, id) }

// Class attributes a Java class or package name (dotted or a DEX
// descriptor) by its SDK package prefix.
func (at *Attributor) Class(name string) Attribution {
	return at.from(at.ix.LookupSDK(name), SDKClass, name)
}

// Program attributes a desktop program's publisher.
func (at *Attributor) Program(publisher string) Attribution {
	return at.from(at.ix.LookupProgram(publisher), Program, publisher)
}

// MAC attributes a hardware address by its OUI. The role says device maker
// or, for a chip vendor such as Espressif, chip maker only.
func (at *Attributor) MAC(mac net.HardwareAddr) Attribution {
	return at.from(at.ix.LookupMAC(mac), MACOUI, "")
}
