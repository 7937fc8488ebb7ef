package decode

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/outflow-dev/outflow/internal/capture/pcapfile"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedtest.Path(t, "pcap")
}

// TestSharedCapturesDecode decodes every packet of every shared capture:
// every link type there must be read, and nearly every frame must be IP.
func TestSharedCapturesDecode(t *testing.T) {
	dir := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := pcapfile.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var d *Decoder
			var p Packet
			var n, ip, ports int
			for {
				data, _, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				if d == nil {
					if d, err = New(r.LinkType()); err != nil {
						t.Fatal(err)
					}
				}
				if d.Decode(data, &p) == nil {
					ip++
					if p.SrcPort != 0 || p.Fragment {
						ports++
					}
				}
			}
			if n == 0 || ip*10 < n*8 {
				t.Errorf("%d packets, only %d decoded as IP", n, ip)
			}
			if ports*10 < ip*7 {
				t.Errorf("%d IP packets, only %d with TCP/UDP ports", ip, ports)
			}
		})
	}
}

func TestUnknownLinkType(t *testing.T) {
	_, err := New(layers.LinkType(147))
	var u UnsupportedLinkError
	if !errors.As(err, &u) || u.Link != 147 {
		t.Fatalf("got %v", err)
	}
}

func buildUDP(t testing.TB, frag bool) []byte {
	eth := &layers.Ethernet{SrcMAC: []byte{0x34, 0xd2, 0x62, 1, 2, 3}, DstMAC: []byte{2, 0, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{192, 168, 1, 10}, DstIP: []byte{8, 8, 8, 8}, Id: 77}
	if frag {
		ip.Flags = layers.IPv4MoreFragments
	}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, ip, udp, gopacket.Payload("hello")); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeFields(t *testing.T) {
	d, _ := New(layers.LinkTypeEthernet)
	for _, frag := range []bool{false, true} {
		var p Packet
		if err := d.Decode(buildUDP(t, frag), &p); err != nil {
			t.Fatal(err)
		}
		if p.Src.String() != "192.168.1.10" || p.Dst.String() != "8.8.8.8" || p.SrcPort != 5353 || p.DstPort != 53 ||
			string(p.Payload) != "hello" || !p.HasMAC || p.SrcMAC[0] != 0x34 || p.Fragment != frag || p.HopLimit != 64 {
			t.Errorf("frag=%v: decoded %+v", frag, p)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), buildUDP(f, false))
	f.Add(uint8(101), []byte{0x45, 0, 0, 20, 0, 0, 0x20, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(113), make([]byte, 16))
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		d, err := New(layers.LinkType(link))
		if err != nil {
			return
		}
		var p Packet
		_ = d.Decode(data, &p)
	})
}

func BenchmarkDecode(b *testing.B) {
	d, _ := New(layers.LinkTypeEthernet)
	frame := buildUDP(b, false)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		_ = d.Decode(frame, &p)
	}
}

// ARP for IPv4 over Ethernet, tagged or not, gives its sender and target
// and no IP packet; ARP for another protocol, or cut short, is not IP.
func TestDecodeARP(t *testing.T) {
	frame := func(vlan bool, proto layers.EthernetType, cut int) []byte {
		eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 7}, DstMAC: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
		a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: proto, HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
			SourceHwAddress: []byte{2, 0, 0, 0, 0, 7}, SourceProtAddress: []byte{198, 51, 100, 7},
			DstHwAddress: []byte{2, 0, 0, 0, 0, 1}, DstProtAddress: []byte{198, 51, 100, 1}}
		ls := []gopacket.SerializableLayer{eth, a}
		if vlan {
			eth.EthernetType = layers.EthernetTypeDot1Q
			ls = []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: 12, Type: layers.EthernetTypeARP}, a}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if cut > 0 { // cut to the header and cut bytes short of the 28 of ARP (the frame is padded to 60)
			b = b[:14+28-cut]
		}
		return b
	}
	d, _ := New(layers.LinkTypeEthernet)
	for _, vlan := range []bool{false, true} {
		var p Packet
		p.Proto = 6 // left from an earlier packet: Decode must clear it
		if err := d.Decode(frame(vlan, layers.EthernetTypeIPv4, 0), &p); err != nil {
			t.Fatalf("vlan=%v: %v", vlan, err)
		}
		if !p.ARP || p.Src.String() != "198.51.100.7" || p.Dst.String() != "198.51.100.1" || p.Proto != 0 || !p.HasMAC {
			t.Errorf("vlan=%v: decoded %+v", vlan, p)
		}
	}
	var p Packet
	if err := d.Decode(frame(false, layers.EthernetTypeIPv6, 0), &p); err != ErrNotIP || p.ARP {
		t.Errorf("ARP for IPv6 addresses: %v, ARP %v", err, p.ARP)
	}
	if err := d.Decode(frame(false, layers.EthernetTypeIPv4, 1), &p); err != ErrNotIP || p.ARP {
		t.Errorf("ARP cut short: %v, ARP %v", err, p.ARP)
	}
}
