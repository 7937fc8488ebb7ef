package decode

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The device's packet inside every encapsulation: TCP from 10.1.2.3:40000
// (or 2001:db8::3) to 203.0.113.7:443 (or 2001:db8:1::7).
func innerIP(t testing.TB, v6 bool) []byte {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: true, ACK: true, Window: 1024}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: netip.MustParseAddr("2001:db8::3").AsSlice(), DstIP: netip.MustParseAddr("2001:db8:1::7").AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload("hello"))
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{10, 1, 2, 3}, DstIP: []byte{203, 0, 113, 7}}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload("hello"))
	}
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

var (
	devMAC    = []byte{0x34, 0xd2, 0x62, 1, 2, 3}
	routerMAC = []byte{0x00, 0x1b, 0x21, 9, 9, 9}
	tapMAC    = []byte{0x02, 0, 0, 0, 0, 0x10}
)

func eth(src []byte, et uint16, rest ...[]byte) []byte {
	b := append(append(append([]byte{}, routerMAC...), src...), byte(et>>8), byte(et))
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// outer wraps payload in an IPv4 packet from a tunnel endpoint.
func outer(t testing.TB, proto layers.IPProtocol, payload []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// outerUDP wraps payload in IPv4/UDP to port.
func outerUDP(t testing.TB, sport, dport uint16, payload []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

type frameCase struct {
	name   string
	link   layers.LinkType
	frame  []byte
	v6     bool
	tunnel Tunnel
	mac    []byte // the device's MAC when the frame carries it, else nil
}

func frameCases(t testing.TB) []frameCase {
	ip4, ip6 := innerIP(t, false), innerIP(t, true)
	devEth := eth(devMAC, 0x0800, ip4)
	return []frameCase{
		{"ethernet", layers.LinkTypeEthernet, eth(devMAC, 0x0800, ip4), false, NoTunnel, devMAC},
		{"ethernet ipv6", layers.LinkTypeEthernet, eth(devMAC, 0x86DD, ip6), true, NoTunnel, devMAC},
		{"802.1q", layers.LinkTypeEthernet, eth(devMAC, 0x8100, u16(0x0064), u16(0x0800), ip4), false, NoTunnel, devMAC},
		{"qinq", layers.LinkTypeEthernet, eth(devMAC, 0x88A8, u16(0x00c8), u16(0x8100), u16(0x0064), u16(0x0800), ip4), false, NoTunnel, devMAC},
		{"mpls", layers.LinkTypeEthernet, eth(routerMAC, 0x8847, u32(100<<12|64), u32(200<<12|1<<8|64), ip4), false, NoTunnel, routerMAC},
		{"pppoe", layers.LinkTypeEthernet, eth(devMAC, 0x8864, []byte{0x11, 0x00}, u16(1), u16(uint16(len(ip4)+2)), u16(0x0021), ip4), false, NoTunnel, devMAC},
		{"pppoe ipv6 under qinq", layers.LinkTypeEthernet, eth(devMAC, 0x88A8, u16(0x00c8), u16(0x8100), u16(0x0064), u16(0x8864),
			[]byte{0x11, 0x00}, u16(1), u16(uint16(len(ip6)+2)), u16(0x0057), ip6), true, NoTunnel, devMAC},
		{"gre", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0), u16(0x0800), ip4))), false, TunnelGRE, nil},
		{"gre key seq", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0x3000), u16(0x0800), u32(7), u32(1), ip4))), false, TunnelGRE, nil},
		{"gre ipv6", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0), u16(0x86DD), ip6))), true, TunnelGRE, nil},
		{"erspan i", layers.LinkTypeEthernet, eth(tapMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0), u16(0x88BE), devEth))), false, TunnelERSPAN, devMAC},
		{"erspan ii", layers.LinkTypeEthernet, eth(tapMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0x1000), u16(0x88BE), u32(1),
			[]byte{0x10, 0x64, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05}, devEth))), false, TunnelERSPAN, devMAC},
		{"erspan iii", layers.LinkTypeEthernet, eth(tapMAC, 0x0800, outer(t, layers.IPProtocolGRE, cat(u16(0x1000), u16(0x22EB), u32(1),
			[]byte{0x20, 0x64, 0x00, 0x01}, u32(12345), []byte{0x00, 0x00, 0x00, 0x00}, devEth))), false, TunnelERSPAN, devMAC},
		{"vxlan", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outerUDP(t, 53000, 4789, cat([]byte{0x08, 0, 0, 0}, []byte{0, 0x10, 0, 0}, devEth))), false, TunnelVXLAN, devMAC},
		{"geneve", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outerUDP(t, 53000, 6081, cat([]byte{0x00, 0x00}, u16(0x6558), []byte{0, 0x10, 0, 0}, devEth))), false, TunnelGeneve, devMAC},
		{"gtp-u", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outerUDP(t, 2152, 2152, cat([]byte{0x30, 0xFF}, u16(uint16(len(ip4))), u32(0x1234), ip4))), false, TunnelGTPU, nil},
		{"gtp-u with extension header", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outerUDP(t, 2152, 2152, cat([]byte{0x34, 0xFF}, u16(uint16(len(ip4)+8)), u32(0x1234),
			u16(0), []byte{0, 0x85}, []byte{1, 0x10, 0x01, 0x00}, ip4))), false, TunnelGTPU, nil},
		{"ip-in-ip", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outer(t, layers.IPProtocolIPv4, ip4)), false, TunnelIPinIP, nil},
		{"6in4", layers.LinkTypeEthernet, eth(routerMAC, 0x0800, outer(t, layers.IPProtocolIPv6, ip6)), true, TunnelIPinIP, nil},
		{"raw ip", layers.LinkTypeRaw, ip4, false, NoTunnel, nil},
		{"null", layers.LinkTypeNull, cat([]byte{2, 0, 0, 0}, ip4), false, NoTunnel, nil},
		{"null ipv6", layers.LinkTypeNull, cat([]byte{30, 0, 0, 0}, ip6), true, NoTunnel, nil},
		{"ppp", layers.LinkTypePPP, cat([]byte{0xFF, 0x03}, u16(0x0021), ip4), false, NoTunnel, nil},
		{"ppp in hdlc framing", layers.LinkTypePPP_HDLC, cat([]byte{0xFF, 0x03}, u16(0x0021), ip4), false, NoTunnel, nil},
		{"cisco hdlc", linkCHDLC, cat([]byte{0x0F, 0x00}, u16(0x0800), ip4), false, NoTunnel, nil},
		{"ppi", linkPPI, cat([]byte{0, 0}, []byte{8, 0}, []byte{1, 0, 0, 0}, devEth), false, NoTunnel, devMAC},
		{"linux sll", layers.LinkTypeLinuxSLL, cat(u16(4), u16(1), u16(6), devMAC, []byte{0, 0}, u16(0x0800), ip4), false, NoTunnel, nil},
		{"linux sll2", layers.LinkTypeLinuxSLL2, cat(u16(0x0800), u16(0), u32(2), u16(1), []byte{4, 6}, devMAC, []byte{0, 0}, ip4), false, NoTunnel, nil},
	}
}

// Each encapsulation and link type gives the device's own packet, with
// the tunnel as evidence and the device's MAC only when the frame carries
// it (not a router's in front of an IP tunnel).
func TestEncapsulations(t *testing.T) {
	for _, tc := range frameCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.link)
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			if err := d.Decode(tc.frame, &p); err != nil {
				t.Fatal(err)
			}
			src, dst := "10.1.2.3", "203.0.113.7"
			if tc.v6 {
				src, dst = "2001:db8::3", "2001:db8:1::7"
			}
			if p.Src.String() != src || p.Dst.String() != dst || p.SrcPort != 40000 || p.DstPort != 443 ||
				p.Proto != layers.IPProtocolTCP || string(p.Payload) != "hello" || p.TCPFlags != SYN|ACK || p.Seq != 1000 {
				t.Errorf("decoded %v:%d -> %v:%d proto %v payload %q flags %x", p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto, p.Payload, p.TCPFlags)
			}
			if p.Tunnel != tc.tunnel {
				t.Errorf("tunnel %v, want %v", p.Tunnel, tc.tunnel)
			}
			if tc.tunnel != NoTunnel && (p.TunnelSrc.String() != "192.0.2.1" || p.TunnelDst.String() != "192.0.2.2") {
				t.Errorf("tunnel endpoints %v -> %v", p.TunnelSrc, p.TunnelDst)
			}
			if (tc.mac != nil) != p.HasMAC || (tc.mac != nil && string(p.SrcMAC[:]) != string(tc.mac)) {
				t.Errorf("MAC %v %x, want %x", p.HasMAC, p.SrcMAC, tc.mac)
			}
		})
	}
}

// A UDP flow to a tunnel's port that carries no tunnel stays what it is.
func TestNotATunnel(t *testing.T) {
	d, _ := New(layers.LinkTypeEthernet)
	var p Packet
	for _, port := range []uint16{4789, 6081, 2152} {
		if err := d.Decode(eth(devMAC, 0x0800, outerUDP(t, 40000, port, []byte("not a tunnel at all"))), &p); err != nil {
			t.Fatal(err)
		}
		if p.Tunnel != NoTunnel || p.Src.String() != "192.0.2.1" || p.DstPort != port || string(p.Payload) != "not a tunnel at all" || !p.HasMAC {
			t.Errorf("port %d: %+v", port, p)
		}
	}
	// GRE nested past the limit is refused, not followed forever.
	in := innerIP(t, false)
	for range maxDepth + 2 {
		in = outer(t, layers.IPProtocolGRE, cat(u16(0), u16(0x0800), in))
	}
	if err := d.Decode(eth(devMAC, 0x0800, in), &p); err != nil || p.Tunnel != TunnelGRE || p.Src.String() != "192.0.2.1" {
		t.Errorf("deep nesting: %v %+v", err, p)
	}
}

// tshark reads the same frames the same way: the innermost IP addresses
// and TCP ports of each frame, written to one pcapng file with an
// interface per link type.
func TestEncapsulationsAgreeWithTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not installed; .ci/run installs it")
		}
		t.Skip("tshark not installed (apt-get install tshark)")
	}
	cases := frameCases(t)
	path := filepath.Join(t.TempDir(), "encapsulations.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{Name: "case0", LinkType: cases[0].link, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		id := 0
		if i > 0 {
			if id, err = w.AddInterface(pcapgo.NgInterface{Name: "case" + itoa(uint16(i)), LinkType: tc.link, SnapLength: 65535}); err != nil {
				t.Fatal(err)
			}
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1772442000+int64(i), 0), CaptureLength: len(tc.frame), Length: len(tc.frame), InterfaceIndex: id}
		if err := w.WritePacket(ci, tc.frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-E", "occurrence=l", "-E", "separator=,",
		"-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "tcp.srcport", "-e", "tcp.dstport").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("tshark read %d frames of %d", len(lines), len(cases))
	}
	for i, tc := range cases {
		c := strings.Split(lines[i], ",")
		theirs := c[0] + " " + c[1] + " " + c[4] + " " + c[5]
		if tc.v6 {
			theirs = c[2] + " " + c[3] + " " + c[4] + " " + c[5]
		}
		d, _ := New(tc.link)
		var p Packet
		if err := d.Decode(tc.frame, &p); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		ours := p.Src.String() + " " + p.Dst.String() + " " + itoa(p.SrcPort) + " " + itoa(p.DstPort)
		if theirs != ours {
			t.Errorf("%s: tshark reads %q, outflow %q", tc.name, theirs, ours)
		}
	}
}

func itoa(v uint16) string { return strconv.Itoa(int(v)) }

func BenchmarkDecodeVXLAN(b *testing.B) {
	d, _ := New(layers.LinkTypeEthernet)
	var frame []byte
	for _, tc := range frameCases(b) {
		if tc.name == "vxlan" {
			frame = tc.frame
		}
	}
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_ = d.Decode(frame, &p)
	}
}
