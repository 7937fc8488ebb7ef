package pcapfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func capture(t testing.TB, n int) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		data := bytes.Repeat([]byte{byte(i)}, 60)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(1700000000+i), 0), CaptureLength: 60, Length: 60}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestReadAll(t *testing.T) {
	r, err := NewReader("mem", bytes.NewReader(capture(t, 5)), -1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 5 || r.Packets() != 5 {
		t.Fatalf("read %d packets", n)
	}
}

func TestTruncatedNamesPacketAndOffset(t *testing.T) {
	b := capture(t, 5)
	b = b[:len(b)-30] // cut the last packet in half
	r, err := NewReader("cut.pcap", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var rerr error
	for {
		_, _, err := r.Next()
		if err != nil {
			rerr = err
			break
		}
	}
	var pe *Error
	if !errors.As(rerr, &pe) {
		t.Fatalf("want *Error, got %v", rerr)
	}
	if pe.Packet != 5 || pe.Name != "cut.pcap" || !strings.Contains(pe.Error(), "packet 5") || pe.Offset <= 24 {
		t.Fatalf("error %v: packet %d offset %d", pe, pe.Packet, pe.Offset)
	}
}

func TestNotACapture(t *testing.T) {
	_, err := NewReader("x.txt", strings.NewReader("hello, world"), 12)
	if err == nil || !strings.Contains(err.Error(), "x.txt") {
		t.Fatalf("got %v", err)
	}
	_, err = NewReader("empty", strings.NewReader(""), 0)
	if err == nil {
		t.Fatal("empty input accepted")
	}
}

func TestSharedPcapng(t *testing.T) {
	r, err := Open(sharedtest.Path(t, "pcap", "quic-v2.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !r.IsPcapNG || r.LinkType() != layers.LinkTypeLinuxSLL {
		t.Fatalf("pcapng %v link %v", r.IsPcapNG, r.LinkType())
	}
}

func FuzzReader(f *testing.F) {
	f.Add(capture(f, 2))
	for _, n := range []string{"iqiyi.pcap", "quic-v2.pcapng"} {
		if p, ok := sharedtest.Optional(f, "pcap", n); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if n == "iqiyi.pcap" || len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader("fuzz", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			if _, _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

// TestClassicMatchesPcapgo: the classic fast path and pcapgo read the same
// packets, and a truncated file names the packet and exact offset.
func TestClassicMatchesPcapgo(t *testing.T) {
	b := capture(t, 50)
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.cl == nil {
		t.Fatal("classic pcap not read by the fast path")
	}
	s, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		d1, c1, e1 := m.Next()
		d2, c2, e2 := s.ReadPacketData()
		if (e1 == nil) != (e2 == nil) || !bytes.Equal(d1, d2) || !c1.Timestamp.Equal(c2.Timestamp) || c1.Length != c2.Length {
			t.Fatalf("packet %d differs: %v %v / %v %v", i, c1, e1, c2, e2)
		}
		if e1 != nil {
			break
		}
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(cut)
	defer r.Close()
	var last error
	for last == nil {
		_, _, last = r.Next()
	}
	var pe *Error
	if !errors.As(last, &pe) || pe.Packet != 50 || pe.Offset != int64(24+49*76) {
		t.Fatalf("truncated: %v", last)
	}
}

// BenchmarkClassicNext reads a classic pcap through the buffered fast path:
// no allocation per packet.
func BenchmarkClassicNext(b *testing.B) {
	data := capture(b, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := NewReader("bench", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
