// Package bypass finds the ways a device resolves names around the
// network's resolver: DNS over HTTPS, TLS or QUIC to public resolvers,
// HTTP-DNS services (apps asking a vendor's HTTP API instead of DNS), and
// connections to catalogued addresses of an entity of concern for which
// the device got no DNS answer although it otherwise used DNS (hard-coded
// addresses). Each finding is an Entry with its kind, the peer, the
// catalogued service and its owner where known, and the evidence.
//
// "No DNS answer" is the flow's, and only from a source that sees answers
// (never an exported or sampled flow record: flowrec.Flow.NoDNS). The flow
// tracker names a flow by any device's answer for its address when the
// device's own is not seen (the answers a forwarder gets), so an address
// counts as hard-coded only when nobody in the capture or window resolved
// it.
//
// It never guesses an owner: an entry names the owner of a catalogued DNS
// service or of a catalogued address, or none. Names hidden by ECH stay
// "name hidden" in the scan report and are not a bypass.
//
// The caller feeds a device's finished flows (or a sensor's records of one
// flush window) into a Window with Finder.Add and reads Window.Entries at
// the end; Add allocates only for flows that are a bypass. It is part of
// the scan pipeline and must never import a source, a sink or a command
// package.
package bypass

import (
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

// Kind is how a device got around the resolver.
type Kind string

// Kinds of bypass.
const (
	DoH       Kind = "doh"               // DNS over HTTPS
	DoT       Kind = "dot"               // DNS over TLS (TCP 853)
	DoQ       Kind = "doq"               // DNS over QUIC (UDP 853)
	HTTPDNS   Kind = "httpdns"           // a vendor's HTTP-DNS API
	Hardcoded Kind = "hardcoded-address" // an entity of concern's address never resolved
)

// Evidence is one reason for an entry.
type Evidence struct {
	Kind   string `json:"kind"` // tls-sni, quic-sni, http-host, http-dns-request, port, dns-service, address, no-dns-answer, also
	Value  string `json:"value"`
	Rule   string `json:"rule,omitempty"`   // the catalog rule, as in attributions
	Source string `json:"source,omitempty"` // the catalog source id
	AsOf   string `json:"as_of,omitempty"`
}

// Entry is one bypass of one device: a kind to one peer and port.
type Entry struct {
	Kind      Kind       `json:"kind"`
	Peer      string     `json:"peer"`
	Port      uint16     `json:"port"`
	Proto     string     `json:"proto"`
	Name      string     `json:"name,omitempty"`    // the name the flow showed (SNI, Host), if any
	Service   string     `json:"service,omitempty"` // catalogued DNS service id
	Owner     string     `json:"owner,omitempty"`   // entity id of the service's or address's owner; empty when unknown
	OwnerName string     `json:"owner_name,omitempty"`
	Evidence  []Evidence `json:"evidence"`
	Flows     int        `json:"flows"`
	BytesOut  uint64     `json:"bytes_out"`
	BytesIn   uint64     `json:"bytes_in"`
	FirstSeen string     `json:"first_seen,omitempty"`
	LastSeen  string     `json:"last_seen,omitempty"`
}

// MaxEntries bounds the entries a Window keeps; more are counted in
// Window.Dropped.
const MaxEntries = 256

// Finder classifies flows with one catalog. It is safe for concurrent
// use; Windows are not.
type Finder struct {
	ix *catalog.Index
	at *attribute.Attributor
}

// New returns a Finder over an attributor and its catalog.
func New(at *attribute.Attributor) *Finder { return &Finder{ix: at.Index(), at: at} }

// Window is what one device did over a capture or a flush window.
type Window struct {
	entries  map[key]*entry
	dnsFlows int   // flows to a DNS port or with a DNS answer for their peer
	firstDNS int64 // the earliest of them; 0 when none or unknown
	// Dropped counts bypass flows not kept past MaxEntries.
	Dropped int
}

type key struct {
	kind  Kind
	peer  netip.Addr
	port  uint16
	proto uint8
}

type entry struct {
	Entry
	first, last int64
}

// Add classifies one flow of the window's device. f need not outlive the
// call.
func (fd *Finder) Add(w *Window, f *flowrec.Flow) {
	if f.DNSName != "" || f.DNSQuery != "" || f.PeerPort == 53 {
		w.dnsFlows++
		if f.First != 0 && (w.firstDNS == 0 || f.First < w.firstDNS) {
			w.firstDNS = f.First
		}
	}
	if f.Hidden == flowrec.HiddenECH || f.Hidden == flowrec.HiddenESNI || f.PeerPort == 53 {
		return
	}
	name := f.SNI
	nameKind := "tls-sni"
	if name == "" && f.QUICSNI != "" {
		name, nameKind = f.QUICSNI, "quic-sni"
	}
	if name == "" && f.HTTPHost != "" {
		name, nameKind = f.HTTPHost, "http-host"
	}
	svc := fd.ix.LookupDNSServiceAddr(f.Peer)
	if svc == nil && name != "" {
		svc = fd.ix.LookupDNSServiceName(name)
	}
	kind := fd.kind(f, svc)
	if kind == "" {
		return
	}
	e := w.get(kind, f)
	if e == nil {
		return
	}
	if e.Flows == 1 {
		if name == e.Peer {
			name = "" // a Host header that is the address names nothing
		}
		e.Name = name
		if name != "" {
			e.add(Evidence{Kind: nameKind, Value: name})
		}
		switch kind {
		case HTTPDNS:
			if f.HTTPDNS != "" {
				e.add(Evidence{Kind: "http-dns-request", Value: f.HTTPDNS})
			}
		case DoT, DoQ:
			e.add(Evidence{Kind: "port", Value: flowrec.ProtoName(f.Proto) + "/853"})
		case Hardcoded:
			fd.hardcoded(e, f)
		}
		if svc != nil {
			e.Service = svc.ID
			if o := svc.OwnerEntity; o != nil {
				e.Owner, e.OwnerName = o.ID, o.Name
			}
			e.add(Evidence{Kind: "dns-service", Value: svc.Name + " (" + string(svc.Kind) + ")", Rule: svc.Rule(), Source: svc.Source, AsOf: svc.AsOf.String()})
		}
	} else if kind == HTTPDNS && f.HTTPDNS != "" && len(e.Evidence) < 8 {
		e.add(Evidence{Kind: "http-dns-request", Value: f.HTTPDNS})
	}
}

// kind is the flow's bypass, or "".
func (fd *Finder) kind(f *flowrec.Flow, svc *catalog.DNSService) Kind {
	if f.HTTPDNS != "" {
		return HTTPDNS // the request itself asked for a name
	}
	switch {
	case f.Proto == flowrec.TCP && f.PeerPort == 853 && (f.Hidden == flowrec.HiddenDoT || svc != nil && svc.Offers("dot")):
		return DoT
	case f.Proto == flowrec.UDP && f.PeerPort == 853 && (f.Hidden == flowrec.HiddenDoQ || f.Hidden == flowrec.HiddenDoH || svc != nil && svc.Offers("doq")):
		// QUIC to 853 whose SNI is a DoH name is still DNS over QUIC
		return DoQ
	case f.Hidden == flowrec.HiddenDoH:
		return DoH
	}
	if svc != nil {
		switch {
		case svc.Kind == catalog.HTTPDNS && (f.PeerPort == 80 && svc.Offers("http") || f.PeerPort == 443 && svc.Offers("https")):
			return HTTPDNS
		case svc.Kind == catalog.PublicResolver && f.PeerPort == 443 && svc.Offers("doh"):
			return DoH
		}
		return "" // another port of a DNS service: not a name lookup we know of
	}
	if f.DNSName != "" || f.DNSQuery != "" || f.NoDNS {
		return "" // named, or from a source that cannot see answers
	}
	if a := fd.at.Addr(f.Peer); a.Concern() && a.Role == catalog.RoleService {
		return Hardcoded
	}
	return ""
}

// hardcoded adds the address's catalog evidence and owner.
func (fd *Finder) hardcoded(e *entry, f *flowrec.Flow) {
	a := fd.at.Addr(f.Peer)
	if !a.Found() {
		return
	}
	sm := attribute.Summarize(a)
	e.Owner, e.OwnerName = sm.Entity, sm.Name
	e.add(Evidence{Kind: "address", Value: f.Peer.String() + " (" + a.Value + ")", Rule: sm.Evidence.Rule, Source: sm.Evidence.Source, AsOf: sm.Evidence.AsOf})
}

func (w *Window) get(kind Kind, f *flowrec.Flow) *entry {
	if w.entries == nil {
		w.entries = map[key]*entry{}
	}
	k := key{kind, f.Peer, f.PeerPort, f.Proto}
	e := w.entries[k]
	if e == nil {
		if len(w.entries) >= MaxEntries {
			w.Dropped++
			return nil
		}
		e = &entry{Entry: Entry{Kind: kind, Peer: f.Peer.String(), Port: f.PeerPort, Proto: flowrec.ProtoName(f.Proto)}, first: f.First, last: f.Last}
		w.entries[k] = e
	}
	e.Flows++
	e.BytesOut += f.BytesOut
	e.BytesIn += f.BytesIn
	if f.First != 0 && (e.first == 0 || f.First < e.first) {
		e.first = f.First
	}
	if f.Last > e.last {
		e.last = f.Last
	}
	return e
}

func (e *entry) add(ev Evidence) { e.Evidence = append(e.Evidence, ev) }

// Entries is the window's bypasses, sorted by kind and peer. A hard-coded
// address counts only when the device used DNS in the window and the
// connection did not start before its first DNS seen (before that, an
// answer cached from before the capture explains it as well); it then
// says so, and names the encrypted DNS the device also used, which may
// have given the address.
func (w *Window) Entries() []Entry {
	out := make([]Entry, 0, len(w.entries))
	var other []string
	for k := range w.entries {
		if k.kind != Hardcoded && !contains(other, string(k.kind)) {
			other = append(other, string(k.kind))
		}
	}
	sort.Strings(other)
	for _, e := range w.entries {
		x := e.Entry
		if x.Kind == Hardcoded {
			if w.dnsFlows == 0 || e.first != 0 && w.firstDNS != 0 && e.first < w.firstDNS {
				continue
			}
			x.Evidence = append(x.Evidence[:len(x.Evidence):len(x.Evidence)], Evidence{Kind: "no-dns-answer",
				Value: "no DNS answer for " + x.Peer + "; the device's DNS was seen in " + strconv.Itoa(w.dnsFlows) + " other flow(s)"})
			for _, o := range other {
				x.Evidence = append(x.Evidence, Evidence{Kind: "also", Value: "the device also used " + o + ", which may have given the address"})
			}
		}
		x.FirstSeen, x.LastSeen = ts(e.first), ts(e.last)
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Peer != b.Peer {
			return a.Peer < b.Peer
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Proto < b.Proto
	})
	return out
}

// Find is the bypasses of one device's flows: Add for each, then Entries.
func (fd *Finder) Find(flows []flowrec.Flow) []Entry {
	var w Window
	for i := range flows {
		fd.Add(&w, &flows[i])
	}
	return w.Entries()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func ts(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}
