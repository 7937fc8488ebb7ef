package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func pkt(src, dst string, sp, dp uint16, proto uint8, payload []byte) *decode.Packet {
	return &decode.Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp,
		Proto: 6 * 0, Payload: payload, SrcMAC: [6]byte{0x60, 0x60, 0x1f, 1, 2, 3}, HasMAC: true}
}

func tcp(src, dst string, sp, dp uint16, seq uint32, flags uint8, payload []byte) *decode.Packet {
	p := pkt(src, dst, sp, dp, TCP, payload)
	p.Proto, p.Seq, p.TCPFlags = TCP, seq, flags
	return p
}

func udp(src, dst string, sp, dp uint16, payload []byte) *decode.Packet {
	p := pkt(src, dst, sp, dp, UDP, payload)
	p.Proto = UDP
	return p
}

func collect(cfg Config) (*Tracker, *[]flowrec.Flow) {
	var out []flowrec.Flow
	tr := New(cfg, func(f *flowrec.Flow) { out = append(out, *f) })
	return tr, &out
}

func TestBothDirectionsOneFlow(t *testing.T) {
	tr, out := collect(DefaultConfig())
	hello := tlshello.BuildClientHello("www.tiktok.com", []string{"h2"})
	tr.Packet(tcp("192.168.1.5", "23.50.60.70", 50000, 443, 100, decode.SYN, nil), 74, t0)
	tr.Packet(tcp("23.50.60.70", "192.168.1.5", 443, 50000, 900, decode.SYN|decode.ACK, nil), 74, t0.Add(time.Millisecond))
	// The ClientHello split across two segments.
	tr.Packet(tcp("192.168.1.5", "23.50.60.70", 50000, 443, 101, decode.ACK, hello[:40]), 106, t0.Add(2*time.Millisecond))
	tr.Packet(tcp("192.168.1.5", "23.50.60.70", 50000, 443, 141, decode.ACK, hello[40:]), 66+len(hello)-40, t0.Add(3*time.Millisecond))
	tr.Packet(tcp("23.50.60.70", "192.168.1.5", 443, 50000, 901, decode.ACK, make([]byte, 1000)), 1066, t0.Add(4*time.Millisecond))
	tr.Flush()
	if len(*out) != 1 {
		t.Fatalf("%d flows, want 1", len(*out))
	}
	f := (*out)[0]
	if f.Device.String() != "192.168.1.5" || f.PeerPort != 443 || f.PacketsOut != 3 || f.PacketsIn != 2 ||
		f.BytesOut != uint64(74+106+66+len(hello)-40) || f.BytesIn != 74+1066 {
		t.Errorf("flow %+v", f)
	}
	if f.SNI != "www.tiktok.com" || f.ALPN != "h2" {
		t.Errorf("SNI %q ALPN %q, want reassembled www.tiktok.com h2", f.SNI, f.ALPN)
	}
	if tr.Stats.Reassembled != 1 {
		t.Errorf("reassembled %d", tr.Stats.Reassembled)
	}
	if d := tr.Devices().Lookup(f.Device); d == nil || d.MAC.String() != "60:60:1f:01:02:03" {
		t.Errorf("device %+v", d)
	}
}

func dnsAnswer(t *testing.T, q string, chain []string, addr string) []byte {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(q), dns.TypeA)
	m.Response = true
	owner := dns.Fqdn(q)
	for _, c := range chain {
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: dns.Fqdn(c)})
		owner = dns.Fqdn(c)
	}
	rr, _ := dns.NewRR(owner + " 60 IN A " + addr)
	m.Answer = append(m.Answer, rr)
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDNSNamesThroughCNAMEChain(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interesting = func(n string) bool { return n == "x.tiktokcdn.com" }
	tr, out := collect(cfg)
	ans := dnsAnswer(t, "innocent.example", []string{"x.tiktokcdn.com", "a1.akamai.net"}, "23.1.2.3")
	tr.Packet(udp("192.168.1.1", "192.168.1.5", 53, 40000, ans), 120, t0)
	tr.Packet(tcp("192.168.1.5", "23.1.2.3", 50001, 443, 1, decode.SYN, nil), 74, t0.Add(time.Second))
	// Another client did not ask: only the any-client memory names it.
	tr.Packet(tcp("192.168.1.6", "23.1.2.3", 50001, 443, 1, decode.SYN, nil), 74, t0.Add(time.Second))
	// Past TTL and grace: forgotten.
	tr.Packet(tcp("192.168.1.5", "23.1.2.3", 50002, 443, 1, decode.SYN, nil), 74, t0.Add(20*time.Minute))
	tr.Flush()
	got := map[string]string{}
	for _, f := range *out {
		got[f.Device.String()+":"+netip.AddrPortFrom(f.Device, f.DevicePort).String()] = f.DNSName + "|" + f.DNSQuery
	}
	want := map[string]string{
		"192.168.1.5:192.168.1.5:40000": "|",
		"192.168.1.5:192.168.1.5:50001": "a1.akamai.net|x.tiktokcdn.com",
		"192.168.1.6:192.168.1.6:50001": "a1.akamai.net|x.tiktokcdn.com",
		"192.168.1.5:192.168.1.5:50002": "|",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: names %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestTableBoundedAndEvictionCounted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 100
	tr, out := collect(cfg)
	for i := range 1000 {
		tr.Packet(udp("192.168.1.5", "8.8.4.4", uint16(10000+i), 5000, []byte("x")), 60, t0.Add(time.Duration(i)*time.Millisecond))
		if tr.Active() > 100 {
			t.Fatalf("table grew to %d", tr.Active())
		}
	}
	tr.Flush()
	if len(*out) != 1000 || tr.Stats.Evicted != 900 {
		t.Fatalf("%d flows out, %d evicted", len(*out), tr.Stats.Evicted)
	}
}

func TestIdleFlowsExpireInCaptureTime(t *testing.T) {
	tr, out := collect(DefaultConfig())
	tr.Packet(udp("192.168.1.5", "8.8.4.4", 1000, 5000, []byte("x")), 60, t0)
	tr.Packet(udp("192.168.1.5", "8.8.4.4", 1001, 5000, []byte("x")), 60, t0.Add(time.Hour))
	if len(*out) != 1 || tr.Active() != 1 {
		t.Fatalf("after an hour: %d finished, %d active", len(*out), tr.Active())
	}
}

func TestFragmentsCountToTheirFlow(t *testing.T) {
	tr, out := collect(DefaultConfig())
	// A later fragment arrives before the first one.
	later := &decode.Packet{Src: netip.MustParseAddr("192.168.1.5"), Dst: netip.MustParseAddr("9.9.9.9"), Proto: UDP,
		Fragment: true, FragID: 7, FragOffset: 185}
	tr.Packet(later, 500, t0)
	first := udp("192.168.1.5", "9.9.9.9", 4000, 4433, []byte("head"))
	first.Fragment, first.FragID, first.MoreFrags = true, 7, true
	tr.Packet(first, 1514, t0.Add(time.Millisecond))
	tail := *later
	tail.FragOffset = 370
	tr.Packet(&tail, 300, t0.Add(2*time.Millisecond))
	tr.Flush()
	if len(*out) != 1 || (*out)[0].BytesOut != 500+1514+300 || (*out)[0].PacketsOut != 3 {
		t.Fatalf("flows %+v", *out)
	}
}

func TestDHCPNamesDevice(t *testing.T) {
	tr, _ := collect(DefaultConfig())
	b := make([]byte, 240)
	b[0], b[1], b[2] = 2, 1, 6
	copy(b[16:20], []byte{192, 168, 1, 44})
	copy(b[28:34], []byte{0xc0, 0x56, 0xe3, 1, 2, 3})
	copy(b[236:240], "\x63\x82\x53\x63")
	b = append(b, 53, 1, 5, 12, 8)
	b = append(b, "cam-lobb"...)
	b = append(b, 255)
	tr.Packet(udp("192.168.1.1", "255.255.255.255", 67, 68, b), 342, t0)
	d := tr.Devices().Lookup(netip.MustParseAddr("192.168.1.44"))
	if d == nil || d.Hostname != "cam-lobb" || d.MAC.String() != "c0:56:e3:01:02:03" {
		t.Fatalf("device %+v", d)
	}
}

func FuzzTrackerPayloads(f *testing.F) {
	f.Add(uint8(17), uint16(53), []byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Add(uint8(6), uint16(443), tlshello.BuildClientHello("a.example", nil))
	f.Add(uint8(17), uint16(67), make([]byte, 300))
	f.Fuzz(func(t *testing.T, proto uint8, port uint16, payload []byte) {
		tr, _ := collect(DefaultConfig())
		p := udp("192.168.1.1", "192.168.1.5", port, 40000, payload)
		if proto%2 == 0 {
			p.Proto = TCP
		}
		tr.Packet(p, len(payload)+42, t0)
		q := udp("192.168.1.5", "192.168.1.1", 40000, port, payload)
		q.Proto = p.Proto
		tr.Packet(q, len(payload)+42, t0)
		tr.Flush()
	})
}

func BenchmarkTrackerPacket(b *testing.B) {
	tr := New(DefaultConfig(), func(*flowrec.Flow) {})
	p := tcp("192.168.1.5", "23.50.60.70", 50000, 443, 1, decode.ACK, make([]byte, 1400))
	q := tcp("23.50.60.70", "192.168.1.5", 443, 50000, 1, decode.ACK, make([]byte, 1400))
	tr.Packet(p, 1454, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Seq += 1400
		if i%2 == 0 {
			tr.Packet(p, 1454, t0)
		} else {
			tr.Packet(q, 1454, t0)
		}
	}
}

func TestCheckpointCountsOnce(t *testing.T) {
	var got []flowrec.Flow
	keep := func(f *flowrec.Flow) { got = append(got, *f) }
	tr := New(DefaultConfig(), keep)
	at := t0
	cli, srv := "192.168.1.5", "203.0.113.7"
	for i := 0; i < 3; i++ {
		tr.Packet(udp(cli, srv, 5000, 9000, make([]byte, 10)), 100, at)
	}
	tr.Checkpoint(keep)
	tr.Checkpoint(keep) // nothing grew: nothing handed on
	if len(got) != 1 || got[0].BytesOut != 300 || got[0].PacketsOut != 3 {
		t.Fatalf("first checkpoint: %+v", got)
	}
	tr.Packet(udp(srv, cli, 9000, 5000, make([]byte, 10)), 50, at.Add(time.Second))
	tr.Packet(udp(cli, srv, 5000, 9000, make([]byte, 10)), 100, at.Add(time.Second))
	tr.Flush()
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	var out, in, pk uint64
	for _, f := range got {
		out += f.BytesOut
		in += f.BytesIn
		pk += f.PacketsOut + f.PacketsIn
	}
	if out != 400 || in != 50 || pk != 5 {
		t.Fatalf("sum of deltas: out %d in %d packets %d, want 400 50 5", out, in, pk)
	}
}
