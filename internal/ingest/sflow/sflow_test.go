package sflow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/ingest/sflow/sflowtest"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

var (
	at       = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	exporter = netip.MustParseAddrPort("192.0.2.10:6343")
	dev      = netip.MustParseAddrPort("10.0.0.5:50000")
	peer     = netip.MustParseAddrPort("23.50.60.70:443")
)

type seen struct {
	src, dst netip.AddrPort
	frame    int
	rate     uint64
	site     string
	hello    bool
}

func decodeAll(t *testing.T, d *Decoder, b []byte) ([]seen, error) {
	t.Helper()
	var out []seen
	err := d.Decode(exporter, b, at, func(s *Sample) {
		p := s.Packet
		out = append(out, seen{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), s.FrameLen, s.Rate, s.Site,
			bytes.Contains(p.Payload, []byte("www.tiktok.com"))})
		if !s.At.Equal(at) || s.Exporter != exporter {
			t.Errorf("sample at %v from %v", s.At, s.Exporter)
		}
	})
	return out, err
}

func TestDecode(t *testing.T) {
	hello := tlshello.BuildClientHello("www.tiktok.com", []string{"h2"})
	frame := sflowtest.TCPFrame(dev, peer, 1, hello)
	ipOnly := frame[14:] // the same packet without its Ethernet header
	v6 := sflowtest.TCPFrame(netip.MustParseAddrPort("[fd00::5]:40000"), netip.MustParseAddrPort("[2001:db8::1]:443"), 1, nil)
	b := sflowtest.Datagram(netip.MustParseAddr("192.0.2.10"), 7, 1,
		sflowtest.FlowSample(1, 1000, sflowtest.RawHeader(1, 1400, frame)),
		sflowtest.CounterSample(2),
		sflowtest.ExpandedFlowSample(3, 256, sflowtest.RawHeader(11, 1500, ipOnly), sflowtest.RawHeader(12, 90, v6[14:])),
		sflowtest.FlowSample(4, 0, sflowtest.RawHeader(1, 10, frame[:60])), // a frame length below the header's, a rate of 0
		sflowtest.FlowSample(5, 10, sflowtest.RawHeader(2, 100, frame)),    // Token Ring: not read
	)
	d := New(Config{Site: func(a netip.Addr, sub uint32) string { return a.String() + "/" + string(rune('0'+sub)) }})
	got, err := decodeAll(t, d, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{dev, peer, 1400, 1000, "192.0.2.10/7", true},
		{dev, peer, 1500, 256, "192.0.2.10/7", true},
		{netip.MustParseAddrPort("[fd00::5]:40000"), netip.MustParseAddrPort("[2001:db8::1]:443"), 90, 256, "192.0.2.10/7", false},
		{dev, peer, 60, 1, "192.0.2.10/7", false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d samples %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	st := d.Total()
	if want := (Stats{Datagrams: 1, Samples: 4, Headers: 4, Counters: 1, NotIP: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	n := 0
	d.Each(func(a netip.AddrPort, s Stats) {
		n++
		if a != exporter || s != st {
			t.Errorf("exporter %v %+v", a, s)
		}
	})
	if n != 1 {
		t.Errorf("%d exporters", n)
	}
}

func TestBadDatagrams(t *testing.T) {
	frame := sflowtest.TCPFrame(dev, peer, 1, nil)
	good := sflowtest.Datagram(netip.MustParseAddr("192.0.2.10"), 0, 1, sflowtest.FlowSample(1, 10, sflowtest.RawHeader(1, 100, frame)))
	huge := sflowtest.Datagram(netip.MustParseAddr("192.0.2.10"), 0, 1, sflowtest.ExpandedFlowSample(1, 10))
	binary.BigEndian.PutUint32(huge[len(huge)-4:], 0xffffffff) // the record count
	for _, tc := range []struct {
		name string
		b    []byte
		is   error
	}{
		{"empty", nil, nil},
		{"version 4", append([]byte{0, 0, 0, 4}, good[4:]...), nil},
		{"truncated header", good[:20], nil},
		{"bad ip version", append([]byte{0, 0, 0, 5, 0, 0, 0, 9}, good[8:]...), nil},
		{"2^32 expanded records", huge, ErrTooManyRecords},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			got, err := decodeAll(t, d, tc.b)
			if err == nil || len(got) != 0 {
				t.Fatalf("err %v, %d samples; want an error and none", err, len(got))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v, want %v", err, tc.is)
			}
			if st := d.Total(); st.Errors != 1 || st.Datagrams != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestMaxExporters(t *testing.T) {
	d := New(Config{MaxExporters: 1})
	b := sflowtest.Datagram(netip.MustParseAddr("192.0.2.10"), 0, 1, sflowtest.CounterSample(1))
	for i := range 3 {
		if err := d.Decode(netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 6343), b, at, func(*Sample) {}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	d.Each(func(netip.AddrPort, Stats) { n++ })
	if st := d.Total(); n != 1 || st.Datagrams != 3 || st.Counters != 3 {
		t.Errorf("%d exporters remembered, totals %+v", n, st)
	}
}

// The datagram path must never panic and never hand on a sample with a
// frame shorter than its header or a rate of 0.
func FuzzDecode(f *testing.F) {
	hello := tlshello.BuildClientHello("www.tiktok.com", nil)
	frame := sflowtest.TCPFrame(dev, peer, 1, hello)
	f.Add(sflowtest.Datagram(netip.MustParseAddr("192.0.2.10"), 7, 1,
		sflowtest.FlowSample(1, 1000, sflowtest.RawHeader(1, 1400, frame)), sflowtest.CounterSample(2),
		sflowtest.ExpandedFlowSample(3, 256, sflowtest.RawHeader(11, 1500, frame[14:]))))
	f.Add(sflowtest.Datagram(netip.MustParseAddr("2001:db8::1"), 0, 1, sflowtest.FlowSample(1, 1, sflowtest.RawHeader(12, 90, frame[14:]))))
	d := New(Config{MaxExporters: 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = d.Decode(exporter, b, at, func(s *Sample) {
			if s.Rate == 0 || s.FrameLen < 0 || s.Packet == nil {
				t.Fatalf("sample %+v", s)
			}
		})
	})
}
