// Package flowrec is the flow record every source produces and every sink
// consumes: a conversation between an inside device and a peer, with bytes
// and packets each way, first and last seen, and the names learned for the
// peer. Captured packets (capture/flow), logged conversations (ingest),
// exported flows (ingest/netflow) and the sensor all hand this record to
// scan and store, and orient it the same way: the device is the inside end.
//
// It is the core's observation model: it must never import a source, a
// sink, the catalog or attribute.
package flowrec

import (
	"net/netip"
	"strings"
)

// Protocol numbers.
const (
	TCP = 6
	UDP = 17
)

// Hidden says why a flow's name could not be learned.
type Hidden uint8

// Reasons a name is hidden.
const (
	NotHidden  Hidden = iota
	HiddenECH         // TLS Encrypted ClientHello: the SNI is the outer name only
	HiddenESNI        // the draft encrypted SNI
	HiddenDoH         // DNS over HTTPS: the queries inside are not visible
	HiddenDoT         // DNS over TLS
	HiddenDoQ         // DNS over QUIC
)

func (h Hidden) String() string {
	if int(h) >= len(hiddenNames) {
		return "hidden"
	}
	return hiddenNames[h]
}

var hiddenNames = [...]string{"", "tls-ech", "tls-esni", "dns-over-https", "dns-over-tls", "dns-over-quic"}

// Flow is one conversation between a device and a peer. The device is the
// inside address (see Orient); when both or neither side are inside, the
// source decides: the capture tracker takes the capture's hub, then the
// initiator by the handshake, then the end not on a server port
// (LikelyServerPort); logs and exports, the initiator.
type Flow struct {
	// Site names where the flow was seen (a sensor's --site, an
	// exporter); empty for a one-off scan. A device is keyed by site and
	// address: 10.0.0.5 at two sites is two devices.
	Site                 string
	Device, Peer         netip.Addr
	DevicePort, PeerPort uint16
	Proto                uint8
	DeviceMAC            [6]byte
	HasMAC               bool

	BytesOut, BytesIn     uint64 // bytes from and to the device
	PacketsOut, PacketsIn uint64
	First, Last           int64 // unix nanoseconds; 0 when unknown

	SNI      string // TLS SNI
	QUICSNI  string
	HTTPHost string
	// XMPPTo is the domain an XMPP client named in its stream header
	// (<stream:stream to='...'>), lower-cased: the service it asked for,
	// which may be served from another host name (DNS SRV).
	XMPPTo   string
	DNSName  string // the name the device resolved to the peer address, if any
	DNSQuery string // the name it asked for, when a CNAME chain led elsewhere
	PeerName string // a name another flow to the same address showed, when this one showed none
	CertOrg  string
	CertCN   string
	ALPN     string
	Hidden   Hidden
	// Signature names an application protocol recognised by its payload
	// (sniff/signature, sniff/mqtt) when it carries no name: weaker than
	// any name, and an owner's only when the catalog has the protocol
	// ("mqtt" is nobody's: it says what the flow is).
	Signature string
	// HTTPDNS is a cleartext HTTP request that asked an HTTP-DNS service
	// for a name, reduced to its method, last path segment and the name
	// ("GET /sign_d?host=appmarket.micloud.xiaomi.net"): the account ids
	// and signatures of the full request are not kept.
	HTTPDNS string
	// Tunnel names the outermost tunnel the flow was carried in and its
	// ends ("vxlan 192.0.2.1>192.0.2.2"): evidence of the path, never a
	// device or an owner.
	Tunnel string
	// NoDNS says the source cannot see the device's DNS answers (an
	// exported or sampled flow record): a missing name is then no
	// evidence that the device skipped the resolver.
	NoDNS bool
}

// Orient makes the inside end the device: when the device side is not
// inside and the peer is, the ends and their counters swap. A flow with
// both or neither end inside keeps its initiator as the device.
func (f *Flow) Orient(inside func(netip.Addr) bool) {
	if inside(f.Device) || !inside(f.Peer) {
		return
	}
	f.Device, f.DevicePort, f.Peer, f.PeerPort = f.Peer, f.PeerPort, f.Device, f.DevicePort
	f.BytesOut, f.BytesIn, f.PacketsOut, f.PacketsIn = f.BytesIn, f.BytesOut, f.PacketsIn, f.PacketsOut
	f.HasMAC = false // the MAC was the initiator's
}

// DeviceID is how the store names the device: its address, prefixed by
// its site when it has one ("branch-2/10.0.0.5").
func (f *Flow) DeviceID() string { return DeviceID(f.Site, f.Device) }

// DeviceID joins a site and an address into a device ID.
func DeviceID(site string, a netip.Addr) string {
	if site == "" {
		return a.String()
	}
	return site + "/" + a.String()
}

// ParseDeviceID is DeviceID's inverse: "SITE/ADDRESS" or "ADDRESS". ok is
// false for an ID that names no address (an inventory ID).
func ParseDeviceID(id string) (site string, a netip.Addr, ok bool) {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		site, id = id[:i], id[i+1:]
	}
	a, err := netip.ParseAddr(id)
	return site, a, err == nil
}

// Name is the flow's best name for its peer, lower-cased: SNI, QUIC SNI,
// HTTP Host, XMPP stream domain, DNS answer, the DNS question, or a name
// another flow showed.
func (f *Flow) Name() string {
	for _, s := range [...]string{f.SNI, f.QUICSNI, f.HTTPHost, f.XMPPTo, f.DNSName, f.DNSQuery, f.PeerName} {
		if s != "" {
			return strings.ToLower(s)
		}
	}
	return ""
}

// ProtoName is "tcp", "udp" or "" for another protocol.
func ProtoName(p uint8) string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return ""
}

// Local is a set of inside networks.
type Local []netip.Prefix

// DefaultLocal is the private, shared, link-local and unique-local ranges.
func DefaultLocal() Local {
	return Local{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
	}
}

// Contains reports whether a is inside.
func (l Local) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
