// Package pcaptest reads the shared real packet captures for the sniff
// dissectors' tests, fuzz seeds and benchmarks, and hands back transport
// payloads. It is imported only by _test.go files, so gopacket never reaches
// a production binary through the dissectors; it must never be imported by
// non-test code.
package pcaptest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// Packet is one TCP or UDP payload taken from a capture.
type Packet struct {
	Index    int // 0-based packet number in the file
	Proto    string
	Src, Dst netip.AddrPort
	Payload  []byte
}

// Path returns the path of a shared capture in ../shared/testdata/pcap,
// skipping tb in a clone without ../shared and failing it where the
// capture should be there (see sharedtest).
func Path(tb testing.TB, name string) string {
	tb.Helper()
	return sharedtest.Path(tb, "pcap", name)
}

// Seeds returns every non-empty TCP and UDP payload of the named shared
// capture for fuzz seeds and benchmarks that also run without it: none in
// a clone without ../shared.
func Seeds(tb testing.TB, name string) []Packet {
	tb.Helper()
	p, ok := sharedtest.Optional(tb, "pcap", name)
	if !ok {
		return nil
	}
	pkts, err := Read(p)
	if err != nil {
		tb.Fatal(err)
	}
	return pkts
}

// Payloads returns every non-empty TCP and UDP payload of the named shared
// capture, in file order. It skips tb when the capture is absent.
func Payloads(tb testing.TB, name string) []Packet {
	tb.Helper()
	pkts, err := Read(Path(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return pkts
}

// Read returns every non-empty TCP and UDP payload of a pcap or pcapng file.
func Read(path string) ([]Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, fmt.Errorf("pcaptest: %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var lt layers.LinkType
	if magic == [4]byte{0x0a, 0x0d, 0x0d, 0x0a} {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("pcaptest: %s: %w", path, err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("pcaptest: %s: %w", path, err)
		}
		src, lt = r, r.LinkType()
	}
	var first gopacket.Decoder = lt
	if lt == layers.LinkTypeRaw || lt == 228 /* IPv4 */ || lt == 229 /* IPv6 */ {
		first = rawIP{}
	}
	var out []Packet
	for i := 0; ; i++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("pcaptest: %s: packet %d: %w", path, i, err)
		}
		p := gopacket.NewPacket(data, first, gopacket.Default)
		var src, dst netip.Addr
		if l, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			src, _ = netip.AddrFromSlice(l.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(l.DstIP.To4())
		} else if l, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			src, _ = netip.AddrFromSlice(l.SrcIP)
			dst, _ = netip.AddrFromSlice(l.DstIP)
		}
		switch l := p.TransportLayer().(type) {
		case *layers.UDP:
			if len(l.Payload) > 0 {
				out = append(out, Packet{i, "udp", netip.AddrPortFrom(src, uint16(l.SrcPort)), netip.AddrPortFrom(dst, uint16(l.DstPort)), l.Payload})
			}
		case *layers.TCP:
			if len(l.Payload) > 0 {
				out = append(out, Packet{i, "tcp", netip.AddrPortFrom(src, uint16(l.SrcPort)), netip.AddrPortFrom(dst, uint16(l.DstPort)), l.Payload})
			}
		}
	}
}

// rawIP decodes a raw-IP link layer by the version nibble.
type rawIP struct{}

func (rawIP) Decode(data []byte, p gopacket.PacketBuilder) error {
	if len(data) > 0 && data[0]>>4 == 6 {
		return layers.LayerTypeIPv6.Decode(data, p)
	}
	return layers.LayerTypeIPv4.Decode(data, p)
}

// Stream concatenates, in capture order, the TCP payloads sent from src to
// dst. It does no retransmission handling: good enough for the short clean
// flows of the test captures.
func Stream(pkts []Packet, src, dst netip.AddrPort) []byte {
	var b []byte
	for _, p := range pkts {
		if p.Proto == "tcp" && p.Src == src && p.Dst == dst {
			b = append(b, p.Payload...)
		}
	}
	return b
}
