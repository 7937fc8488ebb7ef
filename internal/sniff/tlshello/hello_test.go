package tlshello

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/sniff/internal/pcaptest"
)

// streams returns the TCP byte streams of a capture keyed by direction, in
// order of first appearance.
func streams(tb testing.TB, file string) (keys [][2]netip.AddrPort, byKey map[[2]netip.AddrPort][]byte) {
	tb.Helper()
	pkts := pcaptest.Payloads(tb, file)
	byKey = map[[2]netip.AddrPort][]byte{}
	for _, p := range pkts {
		if p.Proto != "tcp" {
			continue
		}
		k := [2]netip.AddrPort{p.Src, p.Dst}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], p.Payload...)
	}
	return keys, byKey
}

func describe(h *ClientHello) string {
	return fmt.Sprintf("sni=%s alpn=%v versions=%x ech=%v esni=%v", h.SNI, h.ALPN(), h.Versions(), h.ECH, h.ESNI)
}

// TestClientHelloCaptures checks the names against what nDPI's expected
// output (ndpi-expected/*.out) reports for the same captures.
func TestClientHelloCaptures(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int // describe() of each ClientHello -> flows
	}{
		{"chrome.pcap", map[string]int{
			"sni=www.iit.cnr.it alpn=[h2 http/1.1] versions=[304 303 302 301] ech=false esni=false": 6,
		}},
		{"tls_ech.pcapng", map[string]int{
			"sni=performance.radar.cloudflare.com alpn=[h2 http/1.1] versions=[304 303] ech=true esni=false": 1,
		}},
		{"encrypted_sni.pcap", map[string]int{
			"sni= alpn=[h2 http/1.1] versions=[304 303 302 301] ech=false esni=true": 3,
		}},
		{"long_tls_certificate.pcap", map[string]int{
			"sni=beacon-api.aliyuncs.com alpn=[h2 http/1.1] versions=[303] ech=false esni=false": 1,
		}},
		{"dingtalk.pcap", map[string]int{
			"sni=static.dingtalk.com alpn=[h2 http/1.1] versions=[304 303 302 301] ech=false esni=false": 1,
		}},
		// An SSLv2-compatible ClientHello (2015): no SNI possible, and
		// nDPI names nothing either.
		{"google_ssl.pcap", map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			keys, byKey := streams(t, tc.file)
			got := map[string]int{}
			for _, k := range keys {
				h, _, err := ParseClientHello(byKey[k])
				switch {
				case err == nil:
					got[describe(&h)]++
				case errors.Is(err, ErrNotClientHello), errors.Is(err, ErrNotTLS):
				default:
					t.Errorf("%v->%v: %v", k[0], k[1], err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ClientHellos (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientHelloBuilt(t *testing.T) {
	tests := []struct {
		name string
		sni  string
		alpn []string
		want string
	}{
		{"plain", "example.com", []string{"h2", "http/1.1"}, "sni=example.com alpn=[h2 http/1.1] versions=[304 303] ech=false esni=false"},
		{"upper case and trailing dot", "WWW.Example.COM.", nil, "sni=www.example.com alpn=[] versions=[304 303] ech=false esni=false"},
		{"no sni", "", []string{"h3"}, "sni= alpn=[h3] versions=[304 303] ech=false esni=false"},
		{"unknown alpn", "a.b", []string{"custom/9"}, "sni=a.b alpn=[custom/9] versions=[304 303] ech=false esni=false"},
		{"ip literal", "192.0.2.1", nil, "sni=192.0.2.1 alpn=[] versions=[304 303] ech=false esni=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, need, err := ParseClientHello(BuildClientHello(tc.sni, tc.alpn))
			if err != nil || need != 0 {
				t.Fatalf("ParseClientHello: need %d, %v", need, err)
			}
			if got := describe(&h); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if h.QUIC {
				t.Error("TCP ClientHello reported as QUIC")
			}
		})
	}
}

// splitRecords re-frames the handshake payload of a one-record stream into
// records of at most n bytes.
func splitRecords(rec []byte, n int) []byte {
	payload := rec[5:]
	var out []byte
	for len(payload) > 0 {
		k := min(n, len(payload))
		out = append(out, rec[0], rec[1], rec[2], byte(k>>8), byte(k))
		out = append(out, payload[:k]...)
		payload = payload[k:]
	}
	return out
}

// TestClientHelloNeedMore feeds every prefix of a stream and checks the
// contract the flow tracker relies on: an incomplete stream asks for more
// than it has and never for more than the whole message.
func TestClientHelloNeedMore(t *testing.T) {
	one := BuildClientHello("need.more.example", []string{"h2"})
	tests := []struct {
		name   string
		stream []byte
	}{
		{"one record", one},
		{"records of 100 bytes", splitRecords(one, 100)},
		{"records of 3 bytes", splitRecords(one, 3)},
		{"records of 1 byte", splitRecords(one, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < len(tc.stream); i++ {
				_, need, err := ParseClientHello(tc.stream[:i])
				if !errors.Is(err, ErrNeedMore) {
					t.Fatalf("prefix %d: err %v, want ErrNeedMore", i, err)
				}
				if need <= i || need > len(tc.stream) {
					t.Fatalf("prefix %d of %d: need %d", i, len(tc.stream), need)
				}
			}
			h, _, err := ParseClientHello(tc.stream)
			if err != nil || h.SNI != "need.more.example" {
				t.Fatalf("whole stream: %q, %v", h.SNI, err)
			}
			// Following the need values alone reaches the end.
			at, calls := 0, 0
			for {
				calls++
				_, need, err := ParseClientHello(tc.stream[:at])
				if err == nil {
					break
				}
				if !errors.Is(err, ErrNeedMore) || calls > len(tc.stream)+1 {
					t.Fatalf("at %d: %v", at, err)
				}
				at = need
			}
			if at != len(tc.stream) {
				t.Errorf("finished at %d of %d", at, len(tc.stream))
			}
		})
	}
}

func TestClientHelloMessage(t *testing.T) {
	msg := BuildQUICClientHello("quic.example", []string{"h3"}, []byte{1, 2, 3, 4})
	h, need, err := ParseClientHelloMessage(msg)
	if err != nil || need != 0 {
		t.Fatalf("need %d, %v", need, err)
	}
	if got, want := describe(&h), "sni=quic.example alpn=[h3] versions=[304] ech=false esni=false"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !h.QUIC {
		t.Error("QUIC transport parameters not seen")
	}
	for _, n := range []int{0, 1, 3, 4, 100, len(msg) - 1} {
		_, need, err := ParseClientHelloMessage(msg[:n])
		if !errors.Is(err, ErrNeedMore) || need <= n || need > len(msg) {
			t.Errorf("prefix %d: need %d, %v", n, need, err)
		}
	}
	if _, _, err := ParseClientHelloMessage([]byte{2, 0, 0, 1, 0}); !errors.Is(err, ErrNotClientHello) {
		t.Errorf("ServerHello message: %v", err)
	}
}

// rawHello builds a one-record ClientHello around the given extensions
// block content (without its length), with fields that tests may corrupt.
func rawHello(sessionID, suites, comp, exts []byte) []byte {
	var body []byte
	body = append(body, 3, 3)
	body = append(body, make([]byte, 32)...)
	body = append(body, byte(len(sessionID)))
	body = append(body, sessionID...)
	body = append(body, byte(len(suites)>>8), byte(len(suites)))
	body = append(body, suites...)
	body = append(body, byte(len(comp)))
	body = append(body, comp...)
	if exts != nil {
		body = append(body, byte(len(exts)>>8), byte(len(exts)))
		body = append(body, exts...)
	}
	return appendRecord(nil, recordHandshake, 0x0301, handshake(typeClientHello, body))
}

func ext(typ uint16, data ...byte) []byte { return appendExt(nil, typ, data) }

func sniExt(name string) []byte {
	n := len(name)
	d := []byte{byte((n + 3) >> 8), byte(n + 3), 0, byte(n >> 8), byte(n)}
	return ext(extServerName, append(d, name...)...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestClientHelloEdgeCases(t *testing.T) {
	suites := []byte{0x13, 0x01}
	null := []byte{0}
	tests := []struct {
		name    string
		stream  []byte
		want    string // describe() on success
		wantErr error
	}{
		{"no extensions at all", rawHello(nil, suites, null, nil), "sni= alpn=[] versions=[303] ech=false esni=false", nil},
		{"grease versions dropped", rawHello(nil, suites, null, ext(extSupportedVersions, 6, 0x3a, 0x3a, 3, 4, 3, 3)), "sni= alpn=[] versions=[304 303] ech=false esni=false", nil},
		{"only grease versions", rawHello(nil, suites, null, ext(extSupportedVersions, 2, 0xfa, 0xfa)), "sni= alpn=[] versions=[303] ech=false esni=false", nil},
		{"first host_name wins", rawHello(nil, suites, null, cat(sniExt("first.example"), sniExt("second.example"))), "sni=first.example alpn=[] versions=[303] ech=false esni=false", nil},
		{"ech and esni", rawHello(nil, suites, null, cat(ext(extEncryptedClientHelo, 0), ext(extESNI))), "sni= alpn=[] versions=[303] ech=true esni=true", nil},
		{"unknown extension skipped", rawHello(nil, suites, null, cat(ext(0x1234, 1, 2, 3), sniExt("x.example"))), "sni=x.example alpn=[] versions=[303] ech=false esni=false", nil},

		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "", ErrNotTLS},
		{"sslv2 hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, "", ErrNotTLS},
		{"bad record version", []byte{22, 2, 0, 0, 5, 1, 0, 0, 1, 0}, "", ErrNotTLS},
		{"server hello", []byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, "", ErrNotClientHello},
		{"zero record length", []byte{22, 3, 1, 0, 0, 1, 0, 0, 0}, "", ErrMalformed},
		{"oversized record", []byte{22, 3, 1, 0xff, 0xff, 1, 0, 0, 0}, "", ErrMalformed},
		{"oversized message", []byte{22, 3, 1, 0x10, 0, 1, 0xff, 0xff, 0xff}, "", ErrMalformed},
		{"session id too long", rawHello(make([]byte, 33), suites, null, nil), "", ErrMalformed},
		{"odd cipher suites", rawHello(nil, []byte{0x13, 0x01, 0x13}, null, nil), "", ErrMalformed},
		{"no compression methods", rawHello(nil, suites, nil, nil), "", ErrMalformed},
		{"extension overruns block", rawHello(nil, suites, null, []byte{0, 0, 0, 9, 1}), "", ErrMalformed},
		{"sni list length wrong", rawHello(nil, suites, null, ext(extServerName, 0, 9, 0, 0, 1, 'a')), "", ErrMalformed},
		{"sni control byte", rawHello(nil, suites, null, sniExt("a\nb")), "", ErrMalformed},
		{"sni empty", rawHello(nil, suites, null, sniExt("")), "", ErrMalformed},
		{"sni too long", rawHello(nil, suites, null, sniExt(string(bytes.Repeat([]byte{'a'}, 300)))), "", ErrMalformed},
		{"alpn empty protocol", rawHello(nil, suites, null, ext(extALPN, 0, 1, 0)), "", ErrMalformed},
		{"versions odd length", rawHello(nil, suites, null, ext(extSupportedVersions, 3, 3, 4, 3)), "", ErrMalformed},
		{"alert between records", cat(splitRecords(BuildClientHello("a.example", nil), 50)[:55], []byte{21, 3, 3, 0, 2, 2, 40}), "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _, err := ParseClientHello(tc.stream)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(&h); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestClientHelloALPNTruncated(t *testing.T) {
	var list []byte
	for i := range 10 {
		p := fmt.Sprintf("p%d", i)
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	h, _, err := ParseClientHello(rawHello(nil, []byte{0x13, 0x01}, []byte{0}, ext(extALPN, append([]byte{0, byte(len(list))}, list...)...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.ALPN()) != MaxALPN || h.Truncated != 2 || h.ALPN()[7] != "p7" {
		t.Errorf("ALPN %v truncated %d", h.ALPN(), h.Truncated)
	}
}

// TestClientHelloAllocs pins the allocation budget: the SNI string only.
func TestClientHelloAllocs(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
		want   float64
	}{
		{"sni and alpn", BuildClientHello("alloc.example", []string{"h2", "http/1.1"}), 1},
		{"no sni", BuildClientHello("", []string{"h2"}), 0},
		{"spanning records", splitRecords(BuildClientHello("alloc.example", []string{"h3"}), 64), 1},
		{"not tls", []byte("GET / HTTP/1.1\r\n"), 0},
		{"need more", BuildClientHello("alloc.example", nil)[:100], 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := testing.AllocsPerRun(50, func() { _, _, _ = ParseClientHello(tc.stream) })
			if got != tc.want {
				t.Errorf("%v allocations, want %v", got, tc.want)
			}
		})
	}
}

func seedClientHellos(f *testing.F) {
	f.Add(BuildClientHello("fuzz.example", []string{"h2", "http/1.1"}))
	f.Add(splitRecords(BuildClientHello("fuzz.example", []string{"h3"}), 40))
	f.Add(rawHello(nil, []byte{0x13, 0x01}, []byte{0}, cat(sniExt("x.example"), ext(extSupportedVersions, 2, 3, 4))))
	for _, file := range []string{"chrome.pcap", "tls_ech.pcapng", "encrypted_sni.pcap"} {
		for _, p := range pcaptest.Seeds(f, file) { // none without ../shared: the built seeds remain
			if p.Proto == "tcp" && len(p.Payload) > 0 && p.Payload[0] == 22 {
				f.Add(p.Payload)
			}
		}
	}
}

func FuzzParseClientHello(f *testing.F) {
	seedClientHellos(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, need, err := ParseClientHello(b)
		if errors.Is(err, ErrNeedMore) && need <= len(b) {
			t.Fatalf("need %d for %d bytes", need, len(b))
		}
		if err == nil && len(h.SNI) > 255 {
			t.Fatalf("SNI of %d bytes", len(h.SNI))
		}
		if len(b) > 5 {
			_, need, err := ParseClientHelloMessage(b[5:])
			if errors.Is(err, ErrNeedMore) && need <= len(b)-5 {
				t.Fatalf("message: need %d for %d bytes", need, len(b)-5)
			}
		}
	})
}

func BenchmarkParseClientHello(b *testing.B) {
	cases := []struct {
		name   string
		stream []byte
	}{
		{"built", BuildClientHello("www.example.com", []string{"h2", "http/1.1"})},
		{"spanning", splitRecords(BuildClientHello("www.example.com", []string{"h2", "http/1.1"}), 256)},
		{"not-tls", []byte("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")},
	}
	if pkts := pcaptest.Seeds(b, "chrome.pcap"); len(pkts) > 0 {
		var keys []string
		for _, p := range pkts {
			if p.Proto == "tcp" && p.Dst.Port() == 443 && len(p.Payload) > 0 && p.Payload[0] == 22 {
				keys = append(keys, string(p.Payload))
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			cases = append(cases, struct {
				name   string
				stream []byte
			}{"chrome", []byte(keys[0])})
		}
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.stream)))
			for b.Loop() {
				_, _, _ = ParseClientHello(c.stream)
			}
		})
	}
}
