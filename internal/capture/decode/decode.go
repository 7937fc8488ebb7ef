// Package decode turns a captured frame into the few fields the flow
// tracker needs (addresses, ports, MACs, TCP flags and sequence, payload),
// looking through the encapsulations that sit between a device and the
// capture point: VLAN tags (802.1Q, QinQ), MPLS, PPPoE, and the tunnels of
// mirror ports, overlays and mobile cores (GRE with ERSPAN I–III, VXLAN,
// GENEVE, GTP-U, IP-in-IP, 6in4). The inner packet is the one reported;
// the outermost tunnel is kept as evidence (Packet.Tunnel), never as a
// device.
//
// Link types: Ethernet, Linux cooked capture v1 and v2, raw IPv4/IPv6,
// NULL/loopback, PPP, PPP in HDLC framing, Cisco HDLC and PPI (whose inner
// link type is any of these).
//
// The walk is written by hand over the frame's bytes, with gopacket's
// IPv4, IPv6 and UDP layers (reused structs) for the headers whose rules
// are subtle (TCP's few fields are read by hand: tcpHeader); gopacket's
// DecodingLayerParser has no decoder for several of these encapsulations
// and fixes the first layer at construction. Nothing is allocated per packet (BenchmarkDecode*).
// IPv4 and IPv6 fragments are reported as fragments: the first carries the
// transport header, the others only their length.
//
// It must never import the flow tracker, the catalog or any sink.
package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packet is one decoded frame. Payload aliases the frame's buffer.
type Packet struct {
	SrcMAC, DstMAC [6]byte
	HasMAC         bool
	Src, Dst       netip.Addr
	Proto          layers.IPProtocol
	SrcPort        uint16
	DstPort        uint16
	TCPFlags       uint8 // FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
	Seq            uint32
	Payload        []byte
	// HopLimit is the IP header's TTL (IPv4) or hop limit (IPv6), of the
	// innermost IP header.
	HopLimit uint8

	// Fragments: FragID identifies the datagram; a first fragment has
	// FragOffset 0 and MoreFrags set and carries the ports.
	Fragment   bool
	FragID     uint32
	FragOffset uint16
	MoreFrags  bool

	// Tunnel is the outermost tunnel the packet came through, and
	// TunnelSrc and TunnelDst its endpoints: evidence of where the traffic
	// was carried, never a device of its own.
	Tunnel               Tunnel
	TunnelSrc, TunnelDst netip.Addr

	// ARP: the frame is an ARP message for IPv4 over Ethernet, no IP
	// packet. Src is the sender's address and Dst the target's; a sender
	// is on the link where the frame was captured (0.0.0.0 in a probe).
	ARP bool
}

// Tunnel is an encapsulation that carries a packet between two addresses
// other than its own.
type Tunnel uint8

// Tunnels.
const (
	NoTunnel Tunnel = iota
	TunnelGRE
	TunnelERSPAN
	TunnelVXLAN
	TunnelGeneve
	TunnelGTPU
	TunnelIPinIP // IPv4 or IPv6 in IPv4 or IPv6 (IP protocols 4 and 41: IP-in-IP, 6in4, 4in6)
)

var tunnelNames = [...]string{NoTunnel: "", TunnelGRE: "gre", TunnelERSPAN: "erspan", TunnelVXLAN: "vxlan",
	TunnelGeneve: "geneve", TunnelGTPU: "gtp-u", TunnelIPinIP: "ip-in-ip"}

func (t Tunnel) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}

// TCP flag bits.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	ACK = 0x10
)

// ErrNotIP is returned for frames that carry no IP packet (ARP, LLDP...).
var ErrNotIP = errors.New("not an IP packet")

// ErrTruncated is returned for a frame cut inside a header.
var ErrTruncated = errors.New("frame truncated inside a header")

// errTooDeep stops encapsulations nested past maxDepth (a crafted frame
// of GRE in GRE in GRE...).
var errTooDeep = errors.New("encapsulations nested too deep")

const maxDepth = 8

// UnsupportedLinkError names a link type the decoder does not read.
type UnsupportedLinkError struct{ Link layers.LinkType }

func (e UnsupportedLinkError) Error() string {
	return fmt.Sprintf("unsupported link type %d (%s): outflow reads Ethernet, Linux SLL and SLL2, raw IP, null/loopback, PPP, Cisco HDLC and PPI captures", int(e.Link), e.Link)
}

// Link types read besides gopacket's named ones.
const (
	linkRaw12  layers.LinkType = 12 // raw IP on some BSDs
	linkRaw14  layers.LinkType = 14 // raw IP on OpenBSD
	linkPPI    layers.LinkType = 192
	linkCHDLC  layers.LinkType = 104
	linkPPPOld layers.LinkType = 9
)

func supported(l layers.LinkType) bool {
	switch l {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkRaw12, linkRaw14, layers.LinkTypeNull, layers.LinkTypeLoop,
		layers.LinkTypePPP, layers.LinkTypePPP_HDLC, linkCHDLC, linkPPI:
		return true
	}
	return false
}

// Decoder decodes frames of one link type. It is not safe for concurrent
// use; make one per goroutine.
type Decoder struct {
	link layers.LinkType
	ip4  layers.IPv4
	ip6  layers.IPv6
	udp  layers.UDP
}

// New returns a decoder for a link type.
func New(link layers.LinkType) (*Decoder, error) {
	if !supported(link) {
		return nil, UnsupportedLinkError{link}
	}
	return &Decoder{link: link}, nil
}

// Decode fills p from a frame. It returns ErrNotIP for frames without IP,
// except ARP messages (Packet.ARP), which say which addresses are on the
// link.
func (d *Decoder) Decode(data []byte, p *Packet) error {
	*p = Packet{}
	return d.fromLink(d.link, data, p, 0)
}

func (d *Decoder) fromLink(link layers.LinkType, b []byte, p *Packet, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch link {
	case layers.LinkTypeEthernet:
		return d.fromEthernet(b, p, depth)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkRaw12, linkRaw14:
		return d.fromIP(b, p, depth)
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return ErrTruncated
		}
		return d.fromEtherType(binary.BigEndian.Uint16(b[14:]), b[16:], p, depth)
	case layers.LinkTypeLinuxSLL2:
		if len(b) < 20 {
			return ErrTruncated
		}
		return d.fromEtherType(binary.BigEndian.Uint16(b[0:]), b[20:], p, depth)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// The address family, in the writer's byte order for NULL and in
		// network order for LOOP: read it both ways.
		if len(b) < 4 {
			return ErrTruncated
		}
		switch fam := binary.LittleEndian.Uint32(b); {
		case fam == 2 || binary.BigEndian.Uint32(b) == 2:
			return d.fromIP(b[4:], p, depth)
		case isInet6(fam) || isInet6(binary.BigEndian.Uint32(b)):
			return d.fromIP(b[4:], p, depth)
		}
		return ErrNotIP
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		return d.fromPPP(b, p, depth)
	case linkCHDLC:
		// address (unicast 0x0F, broadcast 0x8F), control 0, EtherType
		if len(b) < 4 {
			return ErrTruncated
		}
		return d.fromEtherType(binary.BigEndian.Uint16(b[2:]), b[4:], p, depth)
	case linkPPI:
		// version 0, flags, header length (LE), inner DLT (LE), fields
		if len(b) < 8 {
			return ErrTruncated
		}
		hl := int(binary.LittleEndian.Uint16(b[2:]))
		inner := layers.LinkType(binary.LittleEndian.Uint32(b[4:]))
		if hl < 8 || hl > len(b) {
			return ErrTruncated
		}
		if !supported(inner) || inner == linkPPI {
			return ErrNotIP
		}
		return d.fromLink(inner, b[hl:], p, depth+1)
	}
	return UnsupportedLinkError{link}
}

// isInet6 reports the values of AF_INET6 on BSD, macOS and Linux.
func isInet6(f uint32) bool { return f == 24 || f == 28 || f == 30 || f == 10 }

func (d *Decoder) fromEthernet(b []byte, p *Packet, depth int) error {
	if len(b) < 14 {
		return ErrTruncated
	}
	copy(p.DstMAC[:], b[0:6])
	copy(p.SrcMAC[:], b[6:12])
	p.HasMAC = true
	return d.fromEtherType(binary.BigEndian.Uint16(b[12:]), b[14:], p, depth)
}

// fromEtherType reads what an EtherType announces, through VLAN tags,
// MPLS labels and PPPoE sessions.
func (d *Decoder) fromEtherType(et uint16, b []byte, p *Packet, depth int) error {
	for range maxDepth * 2 {
		switch et {
		case 0x0800, 0x86DD:
			return d.fromIP(b, p, depth)
		case 0x8100, 0x88A8, 0x9100: // 802.1Q, 802.1ad (QinQ), old QinQ
			if len(b) < 4 {
				return ErrTruncated
			}
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		case 0x8847, 0x8848: // MPLS unicast, multicast: labels to the bottom of the stack
			for {
				if len(b) < 4 {
					return ErrTruncated
				}
				bottom := b[2]&1 == 1
				b = b[4:]
				if bottom {
					break
				}
			}
			if len(b) == 0 {
				return ErrTruncated
			}
			switch b[0] >> 4 {
			case 4, 6:
				return d.fromIP(b, p, depth)
			case 0: // a pseudowire control word, then Ethernet (EoMPLS)
				if len(b) < 4 {
					return ErrTruncated
				}
				return d.fromEthernet(b[4:], p, depth+1)
			}
			return ErrNotIP
		case 0x0806: // ARP (RFC 826), for IPv4 over Ethernet only
			if len(b) < 28 || binary.BigEndian.Uint16(b) != 1 || binary.BigEndian.Uint16(b[2:]) != 0x0800 || b[4] != 6 || b[5] != 4 {
				return ErrNotIP
			}
			p.ARP = true
			p.Src, p.Dst = netip.AddrFrom4([4]byte(b[14:18])), netip.AddrFrom4([4]byte(b[24:28]))
			return nil
		case 0x8864: // PPPoE session: version/type, code, session, length, then PPP
			if len(b) < 6 {
				return ErrTruncated
			}
			return d.fromPPP(b[6:], p, depth)
		default:
			return ErrNotIP
		}
	}
	return errTooDeep
}

// fromPPP reads a PPP frame, with or without the HDLC address and control
// bytes, with a one- or two-byte protocol field.
func (d *Decoder) fromPPP(b []byte, p *Packet, depth int) error {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) == 0 {
		return ErrTruncated
	}
	var proto uint16
	if b[0]&1 == 1 { // protocol field compressed to one byte
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return ErrTruncated
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	switch proto {
	case 0x0021, 0x0057:
		return d.fromIP(b, p, depth)
	}
	return ErrNotIP
}

// fromIP reads an IPv4 or IPv6 packet, and the packet inside it when it
// is a tunnel.
func (d *Decoder) fromIP(b []byte, p *Packet, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	if len(b) == 0 {
		return ErrNotIP
	}
	var proto layers.IPProtocol
	var pay []byte
	p.Fragment, p.FragID, p.FragOffset, p.MoreFrags = false, 0, 0, false
	switch b[0] >> 4 {
	case 4:
		if err := d.ip4.DecodeFromBytes(b, d); err != nil {
			return ErrTruncated
		}
		p.Src = netip.AddrFrom4([4]byte(d.ip4.SrcIP.To4()))
		p.Dst = netip.AddrFrom4([4]byte(d.ip4.DstIP.To4()))
		p.HopLimit = d.ip4.TTL
		proto, pay = d.ip4.Protocol, d.ip4.Payload
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			p.Fragment, p.FragID, p.FragOffset = true, uint32(d.ip4.Id), d.ip4.FragOffset
			p.MoreFrags = d.ip4.Flags&layers.IPv4MoreFragments != 0
		}
	case 6:
		if err := d.ip6.DecodeFromBytes(b, d); err != nil {
			return ErrTruncated
		}
		p.Src = netip.AddrFrom16([16]byte(d.ip6.SrcIP))
		p.Dst = netip.AddrFrom16([16]byte(d.ip6.DstIP))
		p.HopLimit = d.ip6.HopLimit
		var err error
		if proto, pay, err = d.ip6Ext(d.ip6.NextHeader, d.ip6.Payload, p); err != nil {
			return err
		}
	default:
		return ErrNotIP
	}
	p.Proto = proto
	p.SrcPort, p.DstPort, p.Payload, p.TCPFlags, p.Seq = 0, 0, nil, 0, 0
	if p.Fragment && p.FragOffset != 0 {
		return nil // a later fragment: its length only
	}
	switch proto {
	case layers.IPProtocolTCP:
		tcpHeader(pay, p)
	case layers.IPProtocolUDP:
		if d.udp.DecodeFromBytes(pay, d) == nil {
			p.SrcPort, p.DstPort, p.Payload = uint16(d.udp.SrcPort), uint16(d.udp.DstPort), d.udp.Payload
			if !p.Fragment {
				d.udpTunnel(p, depth)
			}
		}
	case layers.IPProtocolICMPv6:
		p.Payload = pay // neighbour discovery says which addresses are on the link
	case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
		if !p.Fragment {
			d.tunnel(TunnelIPinIP, pay, p, depth, (*Decoder).fromIP)
		}
	case layers.IPProtocolGRE:
		if !p.Fragment {
			d.tunnel(TunnelGRE, pay, p, depth, (*Decoder).fromGRE)
		}
	}
	return nil
}

// ip6Ext skips IPv6 extension headers to the upper-layer protocol,
// reading a fragment header on the way.
func (d *Decoder) ip6Ext(nh layers.IPProtocol, b []byte, p *Packet) (layers.IPProtocol, []byte, error) {
	for range 16 {
		switch nh {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			if len(b) < 8 {
				return 0, nil, ErrTruncated
			}
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return 0, nil, ErrTruncated
			}
			nh, b = layers.IPProtocol(b[0]), b[n:]
		case layers.IPProtocolIPv6Fragment:
			if len(b) < 8 {
				return 0, nil, ErrTruncated
			}
			off := binary.BigEndian.Uint16(b[2:])
			p.Fragment, p.FragOffset, p.MoreFrags = true, off>>3, off&1 == 1
			p.FragID = binary.BigEndian.Uint32(b[4:])
			nh, b = layers.IPProtocol(b[0]), b[8:]
		default:
			return nh, b, nil
		}
	}
	return 0, nil, errTooDeep
}

// tunnel reads the packet inside an outer one through inner, and keeps
// it when it is IP: the outer addresses become the tunnel's evidence and
// the outer MAC (a router's) is forgotten unless the tunnel carries
// Ethernet. When the inside is not IP, p is left as the outer packet.
func (d *Decoder) tunnel(kind Tunnel, b []byte, p *Packet, depth int, inner func(*Decoder, []byte, *Packet, int) error) {
	outer := *p
	if p.Tunnel == NoTunnel {
		p.Tunnel, p.TunnelSrc, p.TunnelDst = kind, p.Src, p.Dst
	}
	p.HasMAC, p.SrcMAC, p.DstMAC = false, [6]byte{}, [6]byte{}
	if inner(d, b, p, depth+1) != nil {
		*p = outer
	}
}

// Well-known UDP ports of overlay and mobile tunnels.
const (
	portVXLAN  = 4789
	portGeneve = 6081
	portGTPU   = 2152
)

func (d *Decoder) udpTunnel(p *Packet, depth int) {
	switch {
	case p.DstPort == portVXLAN:
		// flags with the I bit, 24 reserved bits, VNI, 8 reserved bits
		if b := p.Payload; len(b) >= 8 && b[0]&0x08 != 0 {
			d.tunnel(TunnelVXLAN, b[8:], p, depth, (*Decoder).fromEthernet)
		}
	case p.DstPort == portGeneve:
		d.tunnel(TunnelGeneve, p.Payload, p, depth, (*Decoder).fromGeneve)
	case p.DstPort == portGTPU || p.SrcPort == portGTPU:
		d.tunnel(TunnelGTPU, p.Payload, p, depth, (*Decoder).fromGTPU)
	}
}

// fromGeneve reads a GENEVE header (RFC 8926): version 0, options, and
// the protocol of the inside (Ethernet or IP).
func (d *Decoder) fromGeneve(b []byte, p *Packet, depth int) error {
	if len(b) < 8 || b[0]>>6 != 0 {
		return ErrNotIP
	}
	n := 8 + int(b[0]&0x3F)*4
	if n > len(b) {
		return ErrTruncated
	}
	switch binary.BigEndian.Uint16(b[2:]) {
	case 0x6558:
		return d.fromEthernet(b[n:], p, depth)
	case 0x0800, 0x86DD:
		return d.fromIP(b[n:], p, depth)
	}
	return ErrNotIP
}

// fromGTPU reads a GTP-U G-PDU (3GPP TS 29.281): version 1, protocol
// type GTP, message type 255, the optional sequence, N-PDU and extension
// headers, then the user's IP packet.
func (d *Decoder) fromGTPU(b []byte, p *Packet, depth int) error {
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != 0xFF {
		return ErrNotIP
	}
	flags := b[0]
	b = b[8:]
	if flags&0x07 != 0 { // E, S or PN: sequence (2), N-PDU (1), next extension type (1)
		if len(b) < 4 {
			return ErrTruncated
		}
		next := b[3]
		b = b[4:]
		for next != 0 {
			if len(b) < 4 {
				return ErrTruncated
			}
			n := int(b[0]) * 4 // length in 4-octet units, this byte included
			if n == 0 || n > len(b) {
				return ErrTruncated
			}
			next, b = b[n-1], b[n:]
		}
	}
	return d.fromIP(b, p, depth)
}

// fromGRE reads a GRE header (RFC 2784, 2890; version 1 is PPTP's) and
// what it carries: IP, Ethernet, ERSPAN types I to III, MPLS or PPP.
func (d *Decoder) fromGRE(b []byte, p *Packet, depth int) error {
	if len(b) < 4 {
		return ErrTruncated
	}
	flags, version := b[0], b[1]&0x07
	proto := binary.BigEndian.Uint16(b[2:])
	n := 4
	if flags&0x80 != 0 || flags&0x40 != 0 { // checksum or routing present: checksum + offset
		n += 4
	}
	if flags&0x20 != 0 { // key
		n += 4
	}
	seq := flags&0x10 != 0
	if seq {
		n += 4
	}
	if version == 1 && b[1]&0x80 != 0 { // PPTP acknowledgment number
		n += 4
	}
	if n > len(b) || version > 1 {
		return ErrTruncated
	}
	b = b[n:]
	switch proto {
	case 0x0800, 0x86DD:
		return d.fromIP(b, p, depth)
	case 0x6558: // transparent Ethernet bridging
		return d.fromEthernet(b, p, depth)
	case 0x880B: // PPP (PPTP)
		return d.fromPPP(b, p, depth)
	case 0x8847, 0x8848:
		return d.fromEtherType(proto, b, p, depth)
	case 0x88BE: // ERSPAN type II (8-byte header, GRE sequence present) or type I (none)
		p.Tunnel = erspanOver(p.Tunnel)
		if seq {
			if len(b) < 8 {
				return ErrTruncated
			}
			b = b[8:]
		}
		return d.fromEthernet(b, p, depth)
	case 0x22EB: // ERSPAN type III: 12-byte header, then an 8-byte platform subheader if O
		p.Tunnel = erspanOver(p.Tunnel)
		if len(b) < 12 {
			return ErrTruncated
		}
		o := b[11]&0x01 != 0
		b = b[12:]
		if o {
			if len(b) < 8 {
				return ErrTruncated
			}
			b = b[8:]
		}
		return d.fromEthernet(b, p, depth)
	}
	return ErrNotIP
}

// erspanOver names the tunnel ERSPAN when GRE was the outermost one.
func erspanOver(t Tunnel) Tunnel {
	if t == TunnelGRE {
		return TunnelERSPAN
	}
	return t
}

// SetTruncated satisfies gopacket.DecodeFeedback.
func (d *Decoder) SetTruncated() {}

var _ gopacket.DecodeFeedback = (*Decoder)(nil)

// tcpHeader reads a TCP header's ports, sequence number, flags (FIN,
// SYN, RST, PSH, ACK) and payload into p, when gopacket's TCP layer would
// decode it: 20 bytes at least, and a data offset of 5 to the segment's
// length (options it cannot follow end its option list but not the
// layer, so they never fail it; FuzzTCPHeader holds the two to the same
// answers). By hand because that layer walks every option of every
// packet into a list, allocating for MPTCP's, and the tracker reads none:
// 3 % of a scan of distinct flows. BenchmarkDecodeTCP (a SYN with MSS,
// SACK, timestamps and window scale): 68-75 ns a frame with the layer,
// 19-20 ns now.
func tcpHeader(b []byte, p *Packet) {
	if len(b) < 20 {
		return
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		return
	}
	p.SrcPort, p.DstPort = binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	p.Seq, p.TCPFlags = binary.BigEndian.Uint32(b[4:8]), b[13]&(FIN|SYN|RST|0x08|ACK)
	p.Payload = b[off:]
}
