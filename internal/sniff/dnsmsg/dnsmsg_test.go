package dnsmsg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/outflow-dev/outflow/internal/sniff/internal/pcaptest"
)

// canon rewrites a miekg/dns presentation name into this package's form:
// lowercase, no trailing dot, this package's escapes.
func canon(s string) string {
	if s == "." || s == "" {
		return "."
	}
	s = strings.TrimSuffix(s, ".")
	var n Name
	var label []byte
	flush := func() { n.appendLabel(label); label = label[:0] }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]):
			v, _ := strconv.Atoi(s[i+1 : i+4])
			label = append(label, byte(v))
			i += 3
		case c == '\\' && i+1 < len(s):
			label = append(label, s[i+1])
			i++
		case c == '.':
			flush()
		default:
			label = append(label, c)
		}
	}
	flush()
	return n.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func addrOf(ip net.IP) netip.Addr {
	if v4 := ip.To4(); v4 != nil {
		return netip.AddrFrom4([4]byte(v4))
	}
	a, _ := netip.AddrFromSlice(ip)
	return a
}

// miekgRRs renders miekg/dns's view of a message the way rrString renders
// ours: the oracle of the differential tests.
func miekgRRs(m *dns.Msg) []string {
	var out []string
	for _, sec := range []struct {
		s   Section
		rrs []dns.RR
	}{{Answer, m.Answer}, {Authority, m.Ns}, {Additional, m.Extra}} {
		for _, rr := range sec.rrs {
			h := rr.Header()
			var addr netip.Addr
			target := ""
			var prio uint16
			var hints []netip.Addr
			ech := false
			switch v := rr.(type) {
			case *dns.A:
				addr = addrOf(v.A)
			case *dns.AAAA:
				addr = addrOf(v.AAAA)
			case *dns.CNAME:
				target = canon(v.Target)
			case *dns.DNAME:
				target = canon(v.Target)
			case *dns.NS:
				target = canon(v.Ns)
			case *dns.PTR:
				target = canon(v.Ptr)
			case *dns.MX:
				target, prio = canon(v.Mx), v.Preference
			case *dns.SRV:
				target, prio = canon(v.Target), v.Priority
			case *dns.SVCB:
				target, prio, hints, ech = svcb(v)
			case *dns.HTTPS:
				target, prio, hints, ech = svcb(&v.SVCB)
			}
			ttl := h.Ttl
			out = append(out, fmt.Sprintf("%s %s %d/%d ttl=%d addr=%v target=%s prio=%d hints=%v ech=%v",
				sec.s, canon(h.Name), h.Rrtype, h.Class, ttl, addr, target, prio, hints, ech))
		}
	}
	return out
}

func svcb(v *dns.SVCB) (target string, prio uint16, hints []netip.Addr, ech bool) {
	for _, kv := range v.Value {
		switch p := kv.(type) {
		case *dns.SVCBIPv4Hint:
			for _, ip := range p.Hint {
				hints = append(hints, addrOf(ip))
			}
		case *dns.SVCBIPv6Hint:
			for _, ip := range p.Hint {
				hints = append(hints, netip.AddrFrom16([16]byte(ip.To16())))
			}
		case *dns.SVCBECHConfig:
			ech = true
		}
	}
	return canon(v.Target), v.Priority, hints, ech
}

func rrString(r *RR) string {
	return fmt.Sprintf("%s %s %d/%d ttl=%d addr=%v target=%s prio=%d hints=%v ech=%v",
		r.Section, r.Name, r.Type, r.Class, r.TTL, r.Addr, r.Target, r.Priority, r.Hints, r.ECH)
}

// compareWithMiekg decodes msg with both parsers and reports differences.
func compareWithMiekg(t *testing.T, what string, msg []byte) {
	t.Helper()
	var want dns.Msg
	wantErr := want.Unpack(msg)
	got, err := Decode(msg)
	if wantErr != nil {
		if err == nil {
			t.Errorf("%s: miekg/dns rejects (%v), Decode accepts", what, wantErr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if got.ID != want.Id || got.Response != want.Response || int(got.Opcode) != want.Opcode || int(got.Header.RCode) != want.Rcode&0xf ||
		got.Truncated != want.Truncated || got.RecursionDesired != want.RecursionDesired || got.RecursionAvailable != want.RecursionAvailable {
		t.Errorf("%s: header %+v, miekg %+v", what, got.Header, want.MsgHdr)
	}
	if len(want.Question) > 0 {
		q := want.Question[0]
		if got.QName != canon(q.Name) || got.QType != q.Qtype || got.QClass != q.Qclass {
			t.Errorf("%s: question %s %d %d, miekg %s", what, got.QName, got.QType, got.QClass, q.String())
		}
	}
	var ours []string
	for i := range got.Records {
		ours = append(ours, rrString(&got.Records[i]))
	}
	if diff := cmp.Diff(miekgRRs(&want), ours); diff != "" {
		t.Errorf("%s: records (-miekg +ours):\n%s", what, diff)
	}
}

// TestCapturesAgainstMiekg decodes every DNS and mDNS message of the
// captures and checks it against miekg/dns.
func TestCapturesAgainstMiekg(t *testing.T) {
	tests := []struct {
		file     string
		messages int
	}{
		{"dns.pcap", 5},
		{"android.pcap", 44},
		{"iphone.pcap", 55},
		{"1kxun.pcap", 18},
		{"wechat.pcap", 149},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			n := 0
			for _, p := range pcaptest.Payloads(t, tc.file) {
				ports := []uint16{p.Src.Port(), p.Dst.Port()}
				if p.Proto != "udp" || !(ports[0] == 53 || ports[1] == 53 || ports[0] == 5353 || ports[1] == 5353) {
					continue
				}
				n++
				compareWithMiekg(t, fmt.Sprintf("packet %d", p.Index), p.Payload)
			}
			if n != tc.messages {
				t.Errorf("%d DNS messages, want %d", n, tc.messages)
			}
		})
	}
}

// TestDNSCapture pins what the flow tracker learns from dns.pcap, as nDPI
// reports it (e7.whatsapp.net -> 169.45.219.235 first).
func TestDNSCapture(t *testing.T) {
	var got []string
	for _, p := range pcaptest.Payloads(t, "dns.pcap") {
		var m Message
		err := Parse(p.Payload, &m, func(r *Record) bool {
			if r.Section == Answer && r.Addr.IsValid() {
				got = append(got, fmt.Sprintf("%s %s %d", r.Name.String(), r.Addr, r.TTL))
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"e7.whatsapp.net 169.45.219.235 491", "e7.whatsapp.net 169.47.40.142 491", "e7.whatsapp.net 169.45.248.121 491",
		"e7.whatsapp.net 108.168.176.234 491", "e7.whatsapp.net 169.45.248.189 491", "e7.whatsapp.net 169.45.248.180 491",
		"e7.whatsapp.net 169.53.81.79 491", "e7.whatsapp.net 169.45.219.232 491",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

func ips(s ...string) []net.IP {
	var out []net.IP
	for _, x := range s {
		out = append(out, net.ParseIP(x))
	}
	return out
}

// builtResponse is a response with every decoded record type, compressed.
func builtResponse() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("WWW.Example.COM.", dns.TypeA)
	m.Response, m.RecursionAvailable, m.Authoritative = true, true, true
	m.Compress = true
	https := &dns.HTTPS{SVCB: dns.SVCB{
		Hdr:      dns.RR_Header{Name: "www.example.com.", Rrtype: dns.TypeHTTPS, Class: dns.ClassINET, Ttl: 300},
		Priority: 1, Target: "svc.example.net.",
		Value: []dns.SVCBKeyValue{
			&dns.SVCBAlpn{Alpn: []string{"h3", "h2"}},
			&dns.SVCBIPv4Hint{Hint: ips("192.0.2.10", "192.0.2.11")},
			&dns.SVCBECHConfig{ECH: []byte{0, 4, 1, 2, 3, 4}},
			&dns.SVCBIPv6Hint{Hint: ips("2001:db8::10")},
		},
	}}
	svcbRR := &dns.SVCB{
		Hdr:      dns.RR_Header{Name: "_dns.resolver.arpa.", Rrtype: dns.TypeSVCB, Class: dns.ClassINET, Ttl: 60},
		Priority: 0, Target: "dns.example.net.",
	}
	m.Answer = []dns.RR{
		mustRR("www.example.com. 300 IN CNAME edge.Example.NET."),
		mustRR("edge.example.net. 60 IN CNAME e1.cdn.example.org."),
		mustRR("e1.cdn.example.org. 20 IN A 192.0.2.1"),
		mustRR("e1.cdn.example.org. 20 IN AAAA 2001:db8::1"),
		https,
		svcbRR,
		mustRR("example.com. 300 IN MX 10 mail.example.com."),
		mustRR("_sip._tcp.example.com. 300 IN SRV 5 1 5060 sip.example.com."),
		mustRR("1.2.0.192.in-addr.arpa. 300 IN PTR host.example.com."),
		mustRR("example.com. 300 IN TXT \"v=spf1 -all\""),
		mustRR("old.example.com. 300 IN DNAME new.example.com."),
	}
	m.Ns = []dns.RR{mustRR("example.com. 3600 IN NS ns1.example.com.")}
	m.SetEdns0(1232, true)
	return m
}

func TestBuiltMessages(t *testing.T) {
	full := builtResponse()
	nx := new(dns.Msg)
	nx.SetQuestion("nope.example.", dns.TypeAAAA)
	nx.Response, nx.Rcode = true, dns.RcodeNameError
	badVers := new(dns.Msg)
	badVers.SetQuestion("x.example.", dns.TypeA)
	badVers.Response = true
	badVers.SetEdns0(1232, false)
	badVers.IsEdns0().SetExtendedRcode(dns.RcodeBadVers)
	badVers.Rcode = dns.RcodeBadVers
	escaped := new(dns.Msg)
	escaped.SetQuestion(`a\.b\\c\032d\000.Example.`, dns.TypeTXT)
	root := new(dns.Msg)
	root.SetQuestion(".", dns.TypeNS)

	tests := []struct {
		name      string
		msg       *dns.Msg
		wantQName string
		wantRCode uint16
		wantEDNS  bool
	}{
		{"every record type", full, "www.example.com", RCodeSuccess, true},
		{"nxdomain", nx, "nope.example", RCodeNXDomain, false},
		{"extended rcode", badVers, "x.example", dns.RcodeBadVers, true},
		{"escapes", escaped, `a\.b\\c\032d\000.example`, 0, false},
		{"root", root, ".", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wire, err := tc.msg.Pack()
			if err != nil {
				t.Fatal(err)
			}
			compareWithMiekg(t, tc.name, wire)
			d, err := Decode(wire)
			if err != nil {
				t.Fatal(err)
			}
			if d.QName != tc.wantQName || d.RCode != tc.wantRCode || d.EDNS != tc.wantEDNS {
				t.Errorf("qname %q rcode %d edns %v", d.QName, d.RCode, d.EDNS)
			}
		})
	}

	// The fields the flow tracker uses, spelled out.
	wire, _ := full.Pack()
	d, err := Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range d.Records[:6] {
		lines = append(lines, fmt.Sprintf("%s %d %s %v %v", r.Name, r.Type, r.Target, r.Addr, r.Hints))
	}
	want := []string{
		"www.example.com 5 edge.example.net invalid IP []",
		"edge.example.net 5 e1.cdn.example.org invalid IP []",
		"e1.cdn.example.org 1  192.0.2.1 []",
		"e1.cdn.example.org 28  2001:db8::1 []",
		"www.example.com 65 svc.example.net invalid IP [192.0.2.10 192.0.2.11 2001:db8::10]",
		"_dns.resolver.arpa 64 dns.example.net invalid IP []",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if !d.Records[4].ECH || d.Records[4].Priority != 1 {
		t.Errorf("HTTPS record: %+v", d.Records[4])
	}
}

func TestHintsBound(t *testing.T) {
	var hints []string
	for i := range 10 {
		hints = append(hints, fmt.Sprintf("192.0.2.%d", i))
	}
	m := new(dns.Msg)
	m.SetQuestion("h.example.", dns.TypeHTTPS)
	m.Answer = []dns.RR{&dns.HTTPS{SVCB: dns.SVCB{
		Hdr:      dns.RR_Header{Name: "h.example.", Rrtype: dns.TypeHTTPS, Class: dns.ClassINET, Ttl: 1},
		Priority: 1, Target: ".", Value: []dns.SVCBKeyValue{&dns.SVCBIPv4Hint{Hint: ips(hints...)}},
	}}}
	wire, _ := m.Pack()
	var msg Message
	var got []netip.Addr
	var dropped int
	var target string
	if err := Parse(wire, &msg, func(r *Record) bool {
		got, dropped, target = append(got, r.Hints()...), r.HintsDropped, r.Target.String()
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxHints || dropped != 2 || got[7] != netip.MustParseAddr("192.0.2.7") || target != "." {
		t.Errorf("hints %v dropped %d target %q", got, dropped, target)
	}
}

func TestVisitorStops(t *testing.T) {
	wire, _ := builtResponse().Pack()
	var m Message
	calls := 0
	if err := Parse(wire, &m, func(r *Record) bool { calls++; return calls < 3 }); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || !m.Question.Name.Equal("www.example.com") {
		t.Errorf("calls %d, question %q", calls, m.Question.Name.String())
	}
}

// hdr is a header with the given counts.
func hdr(qd, an int) []byte {
	return []byte{0x12, 0x34, 0x81, 0x80, 0, byte(qd), 0, byte(an), 0, 0, 0, 0}
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestMalformed(t *testing.T) {
	q := cat([]byte{1, 'a', 0}, []byte{0, 1, 0, 1}) // "a" A IN
	rrHead := func(typ uint16, rdlen int) []byte {
		return []byte{0xc0, 12, byte(typ >> 8), byte(typ), 0, 1, 0, 0, 0, 60, byte(rdlen >> 8), byte(rdlen)}
	}
	long := []byte{}
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	tests := []struct {
		name string
		msg  []byte
	}{
		{"short header", []byte{0, 1, 2}},
		{"question past end", cat(hdr(1, 0), []byte{1, 'a', 0, 0, 1})},
		{"label past end", cat(hdr(1, 0), []byte{5, 'a', 'b'})},
		{"self pointer", cat(hdr(1, 0), []byte{0xc0, 12, 0, 1, 0, 1})},
		{"two-pointer loop", cat(hdr(1, 0), []byte{0xc0, 14, 0xc0, 12, 0, 1, 0, 1})},
		{"pointer past end", cat(hdr(1, 0), []byte{0xc0, 0xff, 0, 1, 0, 1})},
		{"truncated pointer", cat(hdr(1, 0), []byte{0xc0})},
		{"extended label", cat(hdr(1, 0), []byte{0x41, 0, 0, 1, 0, 1})},
		{"name over 255 octets", cat(hdr(1, 0), long, []byte{0, 0, 1, 0, 1})},
		{"missing answer", cat(hdr(1, 1), q)},
		{"rdata past end", cat(hdr(1, 1), q, rrHead(1, 4), []byte{1, 2})},
		{"A of 5 bytes", cat(hdr(1, 1), q, rrHead(1, 5), []byte{1, 2, 3, 4, 5})},
		{"AAAA of 4 bytes", cat(hdr(1, 1), q, rrHead(28, 4), []byte{1, 2, 3, 4})},
		{"CNAME with trailing bytes", cat(hdr(1, 1), q, rrHead(5, 4), []byte{0xc0, 12, 9, 9})},
		{"CNAME name leaves rdata", cat(hdr(1, 1), q, rrHead(5, 2), []byte{3, 'a', 'b', 'c', 0})},
		{"empty CNAME", cat(hdr(1, 1), q, rrHead(5, 0))},
		{"ipv4hint of 5 bytes", cat(hdr(1, 1), q, rrHead(65, 12), []byte{0, 1, 0, 0, 4, 0, 5, 1, 2, 3, 4, 5})},
		{"svc param past rdata", cat(hdr(1, 1), q, rrHead(65, 7), []byte{0, 1, 0, 0, 1, 0, 9})},
		{"short MX", cat(hdr(1, 1), q, rrHead(15, 2), []byte{0, 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if err := Parse(tc.msg, &m, func(*Record) bool { return true }); !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSplitTCP(t *testing.T) {
	wire, _ := builtResponse().Pack()
	framed := cat([]byte{byte(len(wire) >> 8), byte(len(wire))}, wire)
	two := cat(framed, framed)
	tests := []struct {
		name     string
		stream   []byte
		wantMsg  int
		wantRest int
		wantErr  error
	}{
		{"one message", framed, len(wire), 0, nil},
		{"two messages", two, len(wire), len(framed), nil},
		{"empty", nil, 0, 0, ErrNeedMore},
		{"length only", framed[:2], 0, 2, ErrNeedMore},
		{"partial", framed[:40], 0, 40, ErrNeedMore},
		{"length below header", []byte{0, 5, 1, 2, 3, 4, 5}, 0, 7, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, rest, err := SplitTCP(tc.stream)
			if !errors.Is(err, tc.wantErr) || len(msg) != tc.wantMsg || len(rest) != tc.wantRest {
				t.Fatalf("msg %d rest %d err %v", len(msg), len(rest), err)
			}
			if err == nil {
				compareWithMiekg(t, tc.name, msg)
			}
		})
	}
}

// TestParseAllocs pins the budget: nothing, with a reused Message.
func TestParseAllocs(t *testing.T) {
	wire, _ := builtResponse().Pack()
	var m Message
	n := 0
	visit := func(r *Record) bool { n += r.Name.Len(); return true }
	if got := testing.AllocsPerRun(50, func() { _ = Parse(wire, &m, visit) }); got != 0 {
		t.Errorf("%v allocations per Parse", got)
	}
}

func FuzzParse(f *testing.F) {
	wire, _ := builtResponse().Pack()
	f.Add(wire)
	f.Add(cat(hdr(1, 0), []byte{0xc0, 14, 0xc0, 12, 0, 1, 0, 1}))
	for _, file := range []string{"dns.pcap", "iphone.pcap"} {
		for _, p := range pcaptest.Seeds(f, file) {
			if p.Proto == "udp" && (p.Src.Port() == 53 || p.Dst.Port() == 53 || p.Dst.Port() == 5353) {
				f.Add(p.Payload)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		records := 0
		err := Parse(b, &m, func(r *Record) bool {
			records++
			if r.Name.Len() == 0 || r.Name.Len() > MaxNameText {
				t.Fatalf("owner name of %d bytes", r.Name.Len())
			}
			return true
		})
		if err != nil {
			return
		}
		d, err := Decode(b)
		if err != nil || len(d.Records) != records {
			t.Fatalf("Decode disagrees with Parse: %v, %d records vs %d", err, len(d.Records), records)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	wire, _ := builtResponse().Pack()
	b.Run("dnsmsg", func(b *testing.B) {
		var m Message
		n := 0
		visit := func(r *Record) bool {
			if r.Addr.IsValid() {
				n++
			}
			return true
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(wire)))
		for b.Loop() {
			_ = Parse(wire, &m, visit)
		}
	})
	b.Run("miekg", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(wire)))
		for b.Loop() {
			var m dns.Msg
			_ = m.Unpack(wire)
		}
	})
}
