package wire

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func query(name string, qtype uint16, edns bool, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0x1234
	if edns {
		m.SetEdns0(4096, do)
	}
	return m
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name    string
		msg     func() []byte
		wantErr error
		check   func(t *testing.T, q *Query)
	}{
		{"plain", func() []byte { return pack(t, query("WWW.Example.com.", dns.TypeA, false, false)) }, nil, func(t *testing.T, q *Query) {
			if q.ID != 0x1234 || q.QType != dns.TypeA || q.QClass != dns.ClassINET || q.EDNS || q.MaxUDP() != 512 {
				t.Errorf("query = %+v", q)
			}
			if n, ok := AppendName(nil, q.QName); !ok || string(n) != "www.example.com" {
				t.Errorf("name = %q %v", n, ok)
			}
		}},
		{"edns do", func() []byte { return pack(t, query("a.b.", dns.TypeAAAA, true, true)) }, nil, func(t *testing.T, q *Query) {
			if !q.EDNS || !q.DO || q.UDPSize != 4096 || q.MaxUDP() != 4096 {
				t.Errorf("query = %+v", q)
			}
		}},
		{"root", func() []byte { return pack(t, query(".", dns.TypeNS, false, false)) }, nil, func(t *testing.T, q *Query) {
			if n, _ := AppendName(nil, q.QName); len(n) != 0 {
				t.Errorf("root name = %q", n)
			}
		}},
		{"short", func() []byte { return []byte{1, 2, 3} }, ErrHeader, nil},
		{"response", func() []byte { m := query("a.", 1, false, false); m.Response = true; return pack(t, m) }, ErrResponse, nil},
		{"notify opcode", func() []byte { m := query("a.", 1, false, false); m.Opcode = dns.OpcodeNotify; return pack(t, m) }, ErrOpcode, nil},
		{"two questions", func() []byte {
			m := query("a.", 1, false, false)
			m.Question = append(m.Question, m.Question[0])
			return pack(t, m)
		}, ErrFormat, nil},
		{"answer section", func() []byte {
			m := query("a.", 1, false, false)
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "a.", Rrtype: 1, Class: 1}, A: net.IPv4(1, 2, 3, 4)}}
			return pack(t, m)
		}, ErrFormat, nil},
		{"truncated question", func() []byte { b := pack(t, query("abc.", 1, false, false)); return b[:len(b)-3] }, ErrFormat, nil},
		{"trailing garbage", func() []byte { return append(pack(t, query("abc.", 1, false, false)), 0) }, ErrFormat, nil},
		{"pointer in question", func() []byte {
			return []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}
		}, ErrFormat, nil},
		{"label runs past end", func() []byte { return []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'a'} }, ErrFormat, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q Query
			err := ParseQuery(tc.msg(), &q)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, &q)
			}
		})
	}
}

func TestAppendBlocked(t *testing.T) {
	tests := []struct {
		name   string
		qtype  uint16
		edns   bool
		rcode  int
		addr   []byte
		answer string
	}{
		{"nxdomain", dns.TypeA, false, RcodeNXDomain, nil, ""},
		{"refused with ede", dns.TypeA, true, RcodeRefused, nil, ""},
		{"null A", dns.TypeA, true, RcodeSuccess, []byte{0, 0, 0, 0}, "0.0.0.0"},
		{"blockpage AAAA", dns.TypeAAAA, false, RcodeSuccess, net.ParseIP("2001:db8::80").To16(), "2001:db8::80"},
		{"no data for other types", dns.TypeMX, false, RcodeSuccess, []byte{0, 0, 0, 0}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := pack(t, query("WWW.TikTok.com.", tc.qtype, tc.edns, false))
			var q Query
			if err := ParseQuery(req, &q); err != nil {
				t.Fatal(err)
			}
			out := AppendBlocked(nil, &q, req, tc.rcode, tc.addr, 60, EDEBlocked, "tiktok-ban")
			var m dns.Msg
			if err := m.Unpack(out); err != nil {
				t.Fatalf("unpack: %v", err)
			}
			if m.Id != 0x1234 || !m.Response || m.Rcode != tc.rcode || m.Question[0].Name != "WWW.TikTok.com." || !m.RecursionDesired {
				t.Errorf("msg = %v", &m)
			}
			got := ""
			if len(m.Answer) == 1 {
				switch rr := m.Answer[0].(type) {
				case *dns.A:
					got = rr.A.String()
				case *dns.AAAA:
					got = rr.AAAA.String()
				}
				if m.Answer[0].Header().Ttl != 60 {
					t.Errorf("ttl = %d", m.Answer[0].Header().Ttl)
				}
			}
			if got != tc.answer {
				t.Errorf("answer = %q, want %q", got, tc.answer)
			}
			opt := m.IsEdns0()
			if (opt != nil) != tc.edns {
				t.Fatalf("OPT present %v, want %v", opt != nil, tc.edns)
			}
			if opt != nil {
				ede, ok := opt.Option[0].(*dns.EDNS0_EDE)
				if !ok || ede.InfoCode != EDEBlocked || ede.ExtraText != "tiktok-ban" {
					t.Errorf("EDE = %v", opt.Option)
				}
			}
		})
	}
}

func storedResponse(t testing.TB) ([]byte, []TTL) {
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.Response, m.RecursionAvailable = true, true
	m.Answer = []dns.RR{
		&dns.CNAME{Hdr: dns.RR_Header{Name: "www.example.com.", Rrtype: dns.TypeCNAME, Class: 1, Ttl: 300}, Target: "cdn.example.net."},
		&dns.A{Hdr: dns.RR_Header{Name: "cdn.example.net.", Rrtype: dns.TypeA, Class: 1, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)},
	}
	m.Compress = true
	b := pack(t, m)
	ttls, err := ScanTTLs(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b, ttls
}

func TestAppendStored(t *testing.T) {
	stored, ttls := storedResponse(t)
	if len(ttls) != 2 || ttls[0].TTL != 300 || ttls[1].TTL != 60 {
		t.Fatalf("ttls = %v", ttls)
	}
	req := pack(t, query("WwW.ExAmple.COM.", dns.TypeA, true, true))
	var q Query
	if err := ParseQuery(req, &q); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		age, stale uint32
		want       [2]uint32
	}{{0, 0, [2]uint32{300, 60}}, {100, 0, [2]uint32{200, 0}}, {1000, 30, [2]uint32{30, 30}}} {
		out := AppendStored(nil, stored, ttls, &q, req, tc.age, tc.stale)
		var m dns.Msg
		if err := m.Unpack(out); err != nil {
			t.Fatal(err)
		}
		if m.Id != 0x1234 || m.Question[0].Name != "WwW.ExAmple.COM." || m.IsEdns0() == nil || !m.IsEdns0().Do() {
			t.Errorf("msg = %v", &m)
		}
		if got := [2]uint32{m.Answer[0].Header().Ttl, m.Answer[1].Header().Ttl}; got != tc.want {
			t.Errorf("age %d stale %d: ttls %v, want %v", tc.age, tc.stale, got, tc.want)
		}
		if hasEDE := len(m.IsEdns0().Option) > 0; hasEDE != (tc.stale != 0) {
			t.Errorf("stale EDE present = %v", hasEDE)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		buf := make([]byte, 0, 1024)
		_ = AppendStored(buf[:0], stored, ttls, &q, req, 5, 0)
	}); n != 0 {
		t.Errorf("AppendStored allocates %v times", n)
	}
}

func TestTruncate(t *testing.T) {
	stored, ttls := storedResponse(t)
	req := pack(t, query("www.example.com.", dns.TypeA, true, false))
	var q Query
	if err := ParseQuery(req, &q); err != nil {
		t.Fatal(err)
	}
	out := Truncate(AppendStored(nil, stored, ttls, &q, req, 0, 0), &q)
	var m dns.Msg
	if err := m.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.Answer) != 0 || m.IsEdns0() == nil || len(m.Question) != 1 {
		t.Errorf("truncated = %v", &m)
	}
}

func TestScanTTLsRejects(t *testing.T) {
	stored, _ := storedResponse(t)
	for _, n := range []int{0, 5, 12, 20, len(stored) - 1} {
		if _, err := ScanTTLs(stored[:n], nil); err == nil {
			t.Errorf("ScanTTLs accepted %d of %d bytes", n, len(stored))
		}
	}
}

func TestAppendNameEscapes(t *testing.T) {
	tests := []struct {
		wire string
		want string
		ok   bool
	}{
		{"\x03WWW\x06TikTok\x03com\x00", "www.tiktok.com", true},
		{"\x0awww.tiktok\x03com\x00", `www\.tiktok.com`, false}, // a dot inside a label
		{"\x03a\\b\x00", `a\\b`, false},
		{"\x03a\x00b\x00", `a\000b`, false},
		{"\x03A B\x00", `a\032b`, false},
		{"\x02\xff\x7f\x00", `\255\127`, false},
		{"\x06\"();@$\x00", `\"\(\)\;\@\$`, false},
		{"\x03a*b\x01_\x00", "a*b._", false},
		{"\x00", "", true},
	}
	for _, tc := range tests {
		got, ok := AppendName(nil, []byte(tc.wire))
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("AppendName(%q) = %q %v, want %q %v", tc.wire, got, ok, tc.want, tc.ok)
		}
	}
}
