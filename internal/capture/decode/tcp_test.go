package decode

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// FuzzTCPHeader: tcpHeader decodes a TCP header exactly when gopacket's
// TCP layer does, to the same ports, sequence number, flags and payload.
func FuzzTCPHeader(f *testing.F) {
	hdr := func(off byte, flags byte, opts ...byte) []byte {
		b := []byte{0xc3, 0x50, 0x01, 0xbb, 1, 2, 3, 4, 0, 0, 0, 0, off << 4, flags, 0xff, 0xff, 0, 0, 0, 0}
		return append(append(b, opts...), "payload"...)
	}
	f.Add(hdr(5, 0x18))
	f.Add(hdr(6, 0x02, 2, 4, 5, 0xb4))                           // MSS
	f.Add(hdr(8, 0x12, 30, 12, 0, 0x81, 1, 2, 3, 4, 5, 6, 7, 8)) // MPTCP MP_CAPABLE
	f.Add(hdr(7, 0x10, 30, 3, 0x20, 1, 1, 8, 1, 2))              // MPTCP DSS cut short
	f.Add(hdr(6, 0x11, 1, 1, 9, 0))                              // an option of length 0
	f.Add(hdr(4, 0x10))                                          // data offset too small
	f.Add(hdr(15, 0x10))                                         // past the segment
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tcp layers.TCP
		ok := tcp.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil
		var p Packet
		tcpHeader(b, &p)
		got := p.SrcPort != 0 || p.DstPort != 0 || p.Seq != 0 || p.TCPFlags != 0 || p.Payload != nil
		if !ok {
			if got {
				t.Fatalf("%x: decoded %+v where gopacket fails", b, p)
			}
			return
		}
		var flags uint8
		for bit, set := range map[uint8]bool{FIN: tcp.FIN, SYN: tcp.SYN, RST: tcp.RST, 0x08: tcp.PSH, ACK: tcp.ACK} {
			if set {
				flags |= bit
			}
		}
		if p.SrcPort != uint16(tcp.SrcPort) || p.DstPort != uint16(tcp.DstPort) || p.Seq != tcp.Seq || p.TCPFlags != flags ||
			!bytes.Equal(p.Payload, tcp.Payload) || len(p.Payload) != len(tcp.Payload) || (p.Payload == nil) != (tcp.Payload == nil) {
			t.Fatalf("%x: %d>%d seq %d flags %#x payload %x; gopacket %d>%d seq %d flags %#x payload %x", b,
				p.SrcPort, p.DstPort, p.Seq, p.TCPFlags, p.Payload, tcp.SrcPort, tcp.DstPort, tcp.Seq, flags, tcp.Payload)
		}
	})
}

// BenchmarkDecodeTCP decodes an Ethernet frame of IPv4 and TCP with the
// options of a SYN (MSS, SACK permitted, timestamps, window scale).
func BenchmarkDecodeTCP(b *testing.B) {
	d, _ := New(layers.LinkTypeEthernet)
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 7}, DstMAC: []byte{2, 0, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{192, 168, 1, 5}, DstIP: []byte{203, 0, 113, 7}}
	tcp := &layers.TCP{SrcPort: 50000, DstPort: 443, Seq: 7, SYN: true, Window: 65535, Options: []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}}}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		b.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, 100))); err != nil {
		b.Fatal(err)
	}
	frame := buf.Bytes()
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := d.Decode(frame, &p); err != nil || p.DstPort != 443 || p.TCPFlags != SYN || len(p.Payload) != 100 {
			b.Fatalf("%v %+v", err, p)
		}
	}
}
