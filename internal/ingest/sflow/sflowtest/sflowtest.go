// Package sflowtest builds sFlow v5 datagrams by hand, per the sFlow v5
// spec (XDR, big-endian), and the frames they sample, for tests of the
// decoder and the sensor. It must never reach the outflow binary.
package sflowtest

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func u32(b []byte, v ...uint32) []byte {
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// Datagram is a datagram header from agent and subAgent with samples.
func Datagram(agent netip.Addr, subAgent, seq uint32, samples ...[]byte) []byte {
	b := u32(nil, 5)
	if agent.Is4() {
		b = u32(b, 1)
	} else {
		b = u32(b, 2)
	}
	b = append(b, agent.AsSlice()...)
	b = u32(b, subAgent, seq, 3600_000, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

// RawHeader is a raw packet header flow record (format 1) of a frame of
// frameLen bytes of which header was kept; proto is 1 Ethernet, 11 IPv4,
// 12 IPv6.
func RawHeader(proto, frameLen uint32, header []byte) []byte {
	body := u32(nil, proto, frameLen, 4, uint32(len(header)))
	body = append(body, header...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return append(u32(nil, 1, uint32(len(body))), body...)
}

// FlowSample is a flow sample (format 1) taken 1 in rate, with records.
func FlowSample(seq, rate uint32, records ...[]byte) []byte {
	body := u32(nil, seq, 3, rate, rate*seq, 0, 3, 4, uint32(len(records)))
	for _, r := range records {
		body = append(body, r...)
	}
	return append(u32(nil, 1, uint32(len(body))), body...)
}

// ExpandedFlowSample is an expanded flow sample (format 3).
func ExpandedFlowSample(seq, rate uint32, records ...[]byte) []byte {
	body := u32(nil, seq, 0, 3, rate, rate*seq, 0, 0, 3, 0, 4, uint32(len(records)))
	for _, r := range records {
		body = append(body, r...)
	}
	return append(u32(nil, 3, uint32(len(body))), body...)
}

// CounterSample is a counter sample (format 2) with one generic
// interface counters record.
func CounterSample(seq uint32) []byte {
	rec := u32(nil, 3, 6, 0, 1_000_000_000, 1, 3, 0, 1000, 10, 0, 0, 0, 0, 0, 0, 2000, 20, 0, 0, 0, 0, 0)
	rec = append(u32(nil, 1, uint32(len(rec))), rec...)
	body := append(u32(nil, seq, 3, 1), rec...)
	return append(u32(nil, 2, uint32(len(body))), body...)
}

// TCPFrame is an Ethernet/IPv4 (or IPv6)/TCP frame from src to dst with
// seq, the ACK|PSH flags and payload.
func TCPFrame(src, dst netip.AddrPort, seq uint32, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0x60, 0x60, 0x1f, 1, 2, 3}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, ACK: true, PSH: true, Window: 65535}
	var ip gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v4)
		ip = v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(v6)
		ip = v6
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		panic(err) // fixed layers: cannot fail
	}
	return buf.Bytes()
}
