package demo

import (
	"encoding/binary"
	"net/netip"
)

// Wire constants.
const (
	ethHeaderLen = 14
	ipHeaderLen  = 20
	udpHeaderLen = 8
	tcpHeaderLen = 20
	minFrame     = 60 // Ethernet minimum without FCS, as a mirror port captures it
	mss          = 1460

	etherIPv4 = 0x0800
	etherARP  = 0x0806

	protoTCP = 6
	protoUDP = 17

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

type mac [6]byte

var (
	broadcastMAC = mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mdnsMAC      = mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	ssdpMAC      = mac{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}
)

// ipHdr is what an IPv4 header needs beyond the addresses.
type ipHdr struct {
	src, dst netip.Addr
	proto    byte
	id       uint16
	ttl      byte
	df       bool
}

// appendEth appends an Ethernet II header.
func appendEth(b []byte, dst, src mac, etherType uint16) []byte {
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	return binary.BigEndian.AppendUint16(b, etherType)
}

// appendIPv4 appends an IPv4 header for a payload of n bytes.
func appendIPv4(b []byte, h ipHdr, n int) []byte {
	at := len(b)
	var flags uint16
	if h.df {
		flags = 0x4000
	}
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(ipHeaderLen+n))
	b = binary.BigEndian.AppendUint16(b, h.id)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, h.ttl, h.proto, 0, 0)
	s, d := h.src.As4(), h.dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[at+10:], ^fold(sum(0, b[at:at+ipHeaderLen])))
	return b
}

// sum adds data as big-endian 16-bit words to acc (RFC 1071).
func sum(acc uint32, data []byte) uint32 {
	for len(data) >= 2 {
		acc += uint32(data[0])<<8 | uint32(data[1])
		data = data[2:]
	}
	if len(data) == 1 {
		acc += uint32(data[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// l4Checksum is the TCP or UDP checksum of segment (whose checksum field
// is zero) under the IPv4 pseudo-header.
func l4Checksum(h ipHdr, segment []byte) uint16 {
	s, d := h.src.As4(), h.dst.As4()
	acc := sum(0, s[:])
	acc = sum(acc, d[:])
	acc += uint32(h.proto) + uint32(len(segment))
	c := ^fold(sum(acc, segment))
	if c == 0 && h.proto == protoUDP {
		c = 0xffff
	}
	return c
}

// appendUDP appends an IPv4/UDP packet (no Ethernet header).
func appendUDP(b []byte, h ipHdr, sport, dport uint16, payload []byte) []byte {
	h.proto = protoUDP
	b = appendIPv4(b, h, udpHeaderLen+len(payload))
	at := len(b)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(udpHeaderLen+len(payload)))
	b = append(b, 0, 0)
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[at+6:], l4Checksum(h, b[at:]))
	return b
}

// tcpSeg is one TCP segment's header fields.
type tcpSeg struct {
	sport, dport uint16
	seq, ack     uint32
	flags        byte
	window       uint16
	syn          bool // add SYN options: MSS, window scale, SACK permitted
}

// synOptions: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted.
var synOptions = []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}

// appendTCP appends an IPv4/TCP packet (no Ethernet header).
func appendTCP(b []byte, h ipHdr, s tcpSeg, payload []byte) []byte {
	h.proto = protoTCP
	hl := tcpHeaderLen
	if s.syn {
		hl += len(synOptions)
	}
	b = appendIPv4(b, h, hl+len(payload))
	at := len(b)
	b = binary.BigEndian.AppendUint16(b, s.sport)
	b = binary.BigEndian.AppendUint16(b, s.dport)
	b = binary.BigEndian.AppendUint32(b, s.seq)
	b = binary.BigEndian.AppendUint32(b, s.ack)
	b = append(b, byte(hl/4)<<4, s.flags)
	b = binary.BigEndian.AppendUint16(b, s.window)
	b = append(b, 0, 0, 0, 0) // checksum, urgent pointer
	if s.syn {
		b = append(b, synOptions...)
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[at+16:], l4Checksum(h, b[at:]))
	return b
}

// appendARP appends an Ethernet ARP packet body (request when reply is
// false).
func appendARP(b []byte, reply bool, sha mac, spa netip.Addr, tha mac, tpa netip.Addr) []byte {
	op := uint16(1)
	if reply {
		op = 2
	}
	b = append(b, 0, 1, 0x08, 0, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	s, t := spa.As4(), tpa.As4()
	b = append(b, sha[:]...)
	b = append(b, s[:]...)
	b = append(b, tha[:]...)
	return append(b, t[:]...)
}

// pad extends a frame to the Ethernet minimum with zeros.
func pad(frame []byte) []byte {
	for len(frame) < minFrame {
		frame = append(frame, 0)
	}
	return frame
}
