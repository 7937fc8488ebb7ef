// Package decode turns a captured frame into the few fields the flow
// tracker needs (addresses, ports, MACs, TCP flags and sequence, payload)
// with gopacket's DecodingLayerParser, which reuses its layer structs so
// that decoding allocates nothing per packet.
//
// Supported link types: Ethernet (with 802.1Q and QinQ tags), Linux cooked
// capture v1 and v2, raw IP (IPv4 or IPv6 by version nibble), loopback/null.
// IPv4 and IPv6 fragments are reported as fragments: the first carries the
// transport header, the others only their length.
//
// It must never import the flow tracker, the catalog or any sink.
package decode

import (
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

	// Fragments: FragID identifies the datagram; a first fragment has
	// FragOffset 0 and MoreFrags set and carries the ports.
	Fragment   bool
	FragID     uint32
	FragOffset uint16
	MoreFrags  bool
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

// UnsupportedLinkError names a link type the decoder does not read.
type UnsupportedLinkError struct{ Link layers.LinkType }

func (e UnsupportedLinkError) Error() string {
	return fmt.Sprintf("unsupported link type %d (%s): outflow reads Ethernet, Linux SLL and SLL2, raw IP and null/loopback captures", int(e.Link), e.Link)
}

// Decoder decodes frames of one link type. It is not safe for concurrent
// use; make one per goroutine.
type Decoder struct {
	link    layers.LinkType
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	lo    layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	ip6f  layers.IPv6Fragment
	tcp   layers.TCP
	udp   layers.UDP
	pay   gopacket.Payload
}

// New returns a decoder for a link type.
func New(link layers.LinkType) (*Decoder, error) {
	d := &Decoder{link: link, decoded: make([]gopacket.LayerType, 0, 8)}
	var first gopacket.LayerType
	switch link {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeLinuxSLL2:
		first = layers.LayerTypeLinuxSLL2
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		first = layers.LayerTypeIPv4 // replaced per packet by the version nibble
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		first = layers.LayerTypeLoopback
	default:
		return nil, UnsupportedLinkError{link}
	}
	d.parser = gopacket.NewDecodingLayerParser(first,
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.lo, &d.ip4, &d.ip6, &d.ip6f, &d.tcp, &d.udp, &d.pay)
	d.parser.IgnoreUnsupported = true
	d.parser.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.lo, &d.ip4, &d.ip6, &d.ip6f, &d.tcp, &d.udp, &d.pay} {
		d.parser.AddDecodingLayer(l)
	}
	return d, nil
}

// Decode fills p from a frame. It returns ErrNotIP for frames without IP.
func (d *Decoder) Decode(data []byte, p *Packet) error {
	*p = Packet{}
	raw := d.link == layers.LinkTypeRaw || d.link == layers.LinkTypeIPv4 || d.link == layers.LinkTypeIPv6 || d.link == 12 || d.link == 14
	var err error
	if raw {
		if len(data) == 0 {
			return ErrNotIP
		}
		switch data[0] >> 4 {
		case 4:
			err = d.decodeFrom(layers.LayerTypeIPv4, data)
		case 6:
			err = d.decodeFrom(layers.LayerTypeIPv6, data)
		default:
			return ErrNotIP
		}
	} else {
		err = d.parser.DecodeLayers(data, &d.decoded)
	}
	if err != nil && len(d.decoded) == 0 {
		return err
	}
	ipSeen := d.fill(p)
	if !ipSeen {
		if pay, ok := d.pppoeIP(); ok {
			if d.decodeFrom(ipLayer(pay), pay) == nil || len(d.decoded) > 0 {
				ipSeen = d.fill(p)
			}
		}
	}
	if !ipSeen {
		return ErrNotIP
	}
	if p.Fragment && p.FragOffset != 0 {
		p.SrcPort, p.DstPort, p.Payload = 0, 0, nil
	} else if p.Fragment && p.SrcPort == 0 {
		// gopacket stops at a first fragment; its transport header is whole.
		d.firstFragment(p)
	}
	return nil
}

func (d *Decoder) decodeFrom(first gopacket.LayerType, data []byte) error {
	d.decoded = d.decoded[:0]
	// DecodingLayerParser's first layer is fixed at construction; walk the
	// layers by hand for raw IP, which needs a per-packet choice.
	var dl gopacket.DecodingLayer = &d.ip4
	if first == layers.LayerTypeIPv6 {
		dl = &d.ip6
	}
	for dl != nil {
		if err := dl.DecodeFromBytes(data, d); err != nil {
			return err
		}
		d.decoded = append(d.decoded, dl.(gopacket.Layer).LayerType())
		next := dl.NextLayerType()
		data = dl.LayerPayload()
		switch next {
		case layers.LayerTypeTCP:
			dl = &d.tcp
		case layers.LayerTypeUDP:
			dl = &d.udp
		case layers.LayerTypeIPv6Fragment:
			dl = &d.ip6f
		default:
			dl = nil
		}
	}
	return nil
}

func (d *Decoder) firstFragment(p *Packet) {
	pay := d.ip4.Payload
	if p.Src.Is6() {
		pay = d.ip6f.Payload
	}
	switch p.Proto {
	case layers.IPProtocolUDP:
		if d.udp.DecodeFromBytes(pay, d) == nil {
			p.SrcPort, p.DstPort, p.Payload = uint16(d.udp.SrcPort), uint16(d.udp.DstPort), d.udp.Payload
		}
	case layers.IPProtocolTCP:
		if d.tcp.DecodeFromBytes(pay, d) == nil {
			p.SrcPort, p.DstPort, p.Payload = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort), d.tcp.Payload
			p.Seq, p.TCPFlags = d.tcp.Seq, tcpFlags(&d.tcp)
		}
	}
}

// fill copies the decoded layers' fields into p and reports whether an IP
// layer was among them.
func (d *Decoder) fill(p *Packet) bool {
	ipSeen := false
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			copy(p.SrcMAC[:], d.eth.SrcMAC)
			copy(p.DstMAC[:], d.eth.DstMAC)
			p.HasMAC = len(d.eth.SrcMAC) == 6 && len(d.eth.DstMAC) == 6
		case layers.LayerTypeIPv4:
			ipSeen = true
			p.Src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			p.Dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			p.Proto = d.ip4.Protocol
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				p.Fragment = true
				p.FragID = uint32(d.ip4.Id)
				p.FragOffset = d.ip4.FragOffset
				p.MoreFrags = d.ip4.Flags&layers.IPv4MoreFragments != 0
			}
		case layers.LayerTypeIPv6:
			ipSeen = true
			p.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			p.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
			p.Proto = d.ip6.NextHeader
		case layers.LayerTypeIPv6Fragment:
			p.Fragment = true
			p.FragID = d.ip6f.Identification
			p.FragOffset = d.ip6f.FragmentOffset
			p.MoreFrags = d.ip6f.MoreFragments
			p.Proto = d.ip6f.NextHeader
		case layers.LayerTypeTCP:
			p.Proto = layers.IPProtocolTCP
			p.SrcPort, p.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			p.Seq = d.tcp.Seq
			p.TCPFlags = tcpFlags(&d.tcp)
			p.Payload = d.tcp.Payload
		case layers.LayerTypeUDP:
			p.Proto = layers.IPProtocolUDP
			p.SrcPort, p.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			p.Payload = d.udp.Payload
		}
	}
	return ipSeen
}

// pppoeIP finds the IP packet inside a PPPoE session frame (DSL uplinks,
// often behind QinQ tags), which gopacket cannot decode in place.
func (d *Decoder) pppoeIP() ([]byte, bool) {
	if len(d.decoded) == 0 {
		return nil, false
	}
	var et layers.EthernetType
	var pay []byte
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeEthernet:
		et, pay = d.eth.EthernetType, d.eth.Payload
	case layers.LayerTypeDot1Q:
		et, pay = d.dot1q.Type, d.dot1q.Payload
	default:
		return nil, false
	}
	if et != layers.EthernetTypePPPoESession || len(pay) < 8 {
		return nil, false
	}
	switch uint16(pay[6])<<8 | uint16(pay[7]) {
	case 0x0021, 0x0057: // PPP IPv4, IPv6
		return pay[8:], true
	}
	return nil, false
}

func ipLayer(b []byte) gopacket.LayerType {
	if len(b) > 0 && b[0]>>4 == 6 {
		return layers.LayerTypeIPv6
	}
	return layers.LayerTypeIPv4
}

// SetTruncated satisfies gopacket.DecodeFeedback.
func (d *Decoder) SetTruncated() {}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= FIN
	}
	if t.SYN {
		f |= SYN
	}
	if t.RST {
		f |= RST
	}
	if t.PSH {
		f |= 0x08
	}
	if t.ACK {
		f |= ACK
	}
	return f
}
