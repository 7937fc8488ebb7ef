package tlshello

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func selfSigned(tb testing.TB, cn string, org []string, sans []string) []byte {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, Organization: org},
		DNSNames:     sans,
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

func describeCert(c *Certificate) string {
	return fmt.Sprintf("v=%x cn=%s o=%v dns=%d issuer=%s/%v", c.Version, c.CommonName, c.Organization, len(c.DNSNames), c.IssuerCommonName, c.IssuerOrganization)
}

func TestServerCertificateCaptures(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int
	}{
		{"long_tls_certificate.pcap", map[string]int{
			"v=303 cn=*.aliyun.com o=[Alibaba (China) Technology Co., Ltd.] dns=185 issuer=GlobalSign Organization Validation CA - SHA256 - G2/[GlobalSign nv-sa]": 1,
		}},
		// The web server of WeChat sits outside Tencent's published
		// prefixes: only this certificate names the company.
		{"wechat.pcap", map[string]int{
			"v=303 cn=web.wechat.com o=[Tencent Mobility Limited] dns=15 issuer=GeoTrust SSL CA - G3/[GeoTrust Inc.]":                     26,
			"v=303 cn=wx.qq.com o=[Shenzhen Tencent Computer Systems Company Limited] dns=17 issuer=GeoTrust SSL CA - G3/[GeoTrust Inc.]": 1,
			"v=303 cn=*.googleusercontent.com o=[Google Inc] dns=32 issuer=Google Internet Authority G2/[Google Inc]":                     1,
		}},
		// TLS 1.3 everywhere: certificates are encrypted.
		{"chrome.pcap", map[string]int{"encrypted": 6}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			keys, byKey := streams(t, tc.file)
			got := map[string]int{}
			for _, k := range keys {
				if k[0].Port() != 443 {
					continue
				}
				c, _, err := ParseServerCertificate(byKey[k])
				switch {
				case err == nil:
					got[describeCert(&c)]++
				case errors.Is(err, ErrEncryptedCertificate):
					got["encrypted"]++
				case errors.Is(err, ErrNoCertificate), errors.Is(err, ErrNotTLS):
				default:
					t.Errorf("%v->%v: %v", k[0], k[1], err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("certificates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerCertificateBuilt(t *testing.T) {
	leaf := selfSigned(t, "demo.example", []string{"Example Org"}, []string{"demo.example", "www.demo.example"})
	ca := selfSigned(t, "Example CA", []string{"Example CA Org"}, nil)
	flight := BuildServerCertificate(leaf, ca)
	c, need, err := ParseServerCertificate(flight)
	if err != nil || need != 0 {
		t.Fatalf("need %d, %v", need, err)
	}
	if got, want := describeCert(&c), "v=303 cn=demo.example o=[Example Org] dns=2 issuer=demo.example/[Example Org]"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if string(c.DER) != string(leaf) {
		t.Error("DER is not the leaf certificate")
	}

	// Every prefix either asks for more, within the flight, or has the
	// answer; once answered, longer prefixes answer too.
	answered := false
	for i := 0; i <= len(flight); i++ {
		_, need, err := ParseServerCertificate(flight[:i])
		switch {
		case err == nil:
			answered = true
		case errors.Is(err, ErrNeedMore):
			if answered {
				t.Fatalf("prefix %d: need more after an answer", i)
			}
			if need <= i || need > len(flight) {
				t.Fatalf("prefix %d of %d: need %d", i, len(flight), need)
			}
		default:
			t.Fatalf("prefix %d: %v", i, err)
		}
	}

	// The same flight cut into records of 200 bytes, including a
	// certificate spanning records.
	var split []byte
	for rest := flight; len(rest) > 0; {
		n := int(rest[3])<<8 | int(rest[4])
		split = append(split, splitRecords(rest[:5+n], 200)...)
		rest = rest[5+n:]
	}
	c2, _, err := ParseServerCertificate(split)
	if err != nil || c2.CommonName != "demo.example" {
		t.Fatalf("split records: %q, %v", c2.CommonName, err)
	}
}

// serverHello builds a ServerHello record with the given extensions.
func serverHello(exts []byte) []byte {
	var b []byte
	b = append(b, 3, 3)
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, 0x13, 0x01, 0)
	if exts != nil {
		b = append(b, byte(len(exts)>>8), byte(len(exts)))
		b = append(b, exts...)
	}
	return appendRecord(nil, recordHandshake, 0x0303, handshake(typeServerHello, b))
}

func TestServerCertificateErrors(t *testing.T) {
	leaf := selfSigned(t, "e.example", nil, nil)
	flight := BuildServerCertificate(leaf)
	shLen := 5 + (int(flight[3])<<8 | int(flight[4]))
	tests := []struct {
		name    string
		stream  []byte
		wantErr error
	}{
		{"tls 1.3", serverHello(ext(extSupportedVersions, 3, 4)), ErrEncryptedCertificate},
		{"resumption", cat(serverHello(nil), []byte{20, 3, 3, 0, 1, 1}), ErrNoCertificate},
		{"psk flight", cat(serverHello(nil), appendRecord(nil, recordHandshake, 0x0303, handshake(14, nil))), ErrNoCertificate},
		{"alert first", []byte{21, 3, 3, 0, 2, 2, 40}, ErrNoCertificate},
		{"empty certificate list", cat(flight[:shLen], appendRecord(nil, recordHandshake, 0x0303, handshake(typeCertificate, []byte{0, 0, 0}))), ErrNoCertificate},
		{"client stream", BuildClientHello("x.example", nil), ErrNotServerHello},
		{"not tls", []byte("HTTP/1.1 200 OK\r\n"), ErrNotTLS},
		{"certificate overruns message", cat(flight[:shLen], appendRecord(nil, recordHandshake, 0x0303, handshake(typeCertificate, []byte{0, 0, 9, 0, 0, 6, 1, 2, 3}))), ErrMalformed},
		{"certificate garbage", cat(flight[:shLen], appendRecord(nil, recordHandshake, 0x0303, handshake(typeCertificate, []byte{0, 0, 5, 0, 0, 2, 1, 2}))), ErrMalformed},
		{"unknown record type", cat(flight[:shLen], []byte{99, 3, 3, 0, 1, 0}), ErrMalformed},
		{"truncated server hello", appendRecord(nil, recordHandshake, 0x0303, handshake(typeServerHello, []byte{3, 3, 1})), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseServerCertificate(tc.stream)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseServerCertificate(f *testing.F) {
	leaf := selfSigned(f, "fuzz.example", []string{"Fuzz Org"}, []string{"fuzz.example"})
	f.Add(BuildServerCertificate(leaf))
	f.Add(serverHello(ext(extSupportedVersions, 3, 4)))
	var cc CertCache
	f.Fuzz(func(t *testing.T, b []byte) {
		c, need, err := ParseServerCertificate(b)
		if errors.Is(err, ErrNeedMore) && need <= len(b) {
			t.Fatalf("need %d for %d bytes", need, len(b))
		}
		// the cache answers as the parser, the first time and the second
		for range 2 {
			c2, need2, err2 := cc.ParseServerCertificate(b)
			if fmt.Sprint(err2) != fmt.Sprint(err) || need2 != need || describeCert(&c2) != describeCert(&c) || string(c2.DER) != string(c.DER) {
				t.Fatalf("cached: %s %d %v; parsed: %s %d %v", describeCert(&c2), need2, err2, describeCert(&c), need, err)
			}
		}
	})
}

func BenchmarkParseServerCertificate(b *testing.B) {
	flight := BuildServerCertificate(selfSigned(b, "bench.example", []string{"Bench Org"}, []string{"bench.example"}))
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(flight)))
		for b.Loop() {
			_, _, _ = ParseServerCertificate(flight)
		}
	})
	b.Run("cached", func(b *testing.B) {
		var cc CertCache
		b.ReportAllocs()
		b.SetBytes(int64(len(flight)))
		for b.Loop() {
			_, _, _ = cc.ParseServerCertificate(flight)
		}
	})
}

// TestCertCache: the cache gives what parsing gives, the DER of the
// stream at hand and the version of its own ServerHello, and stays
// within its bound.
func TestCertCache(t *testing.T) {
	leaf := selfSigned(t, "demo.example", []string{"Example Org"}, []string{"demo.example", "www.demo.example"})
	flight := BuildServerCertificate(leaf)
	want, _, err := ParseServerCertificate(flight)
	if err != nil {
		t.Fatal(err)
	}
	var cc CertCache
	for i := range 3 {
		stream := append([]byte(nil), flight...) // a connection's own buffer
		got, need, err := cc.ParseServerCertificate(stream)
		if err != nil || need != 0 {
			t.Fatalf("round %d: need %d, %v", i, need, err)
		}
		got.DER = append([]byte(nil), got.DER...) // valid until the next call
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round %d (-parsed +cached):\n%s", i, diff)
		}
		if string(got.DER) != string(leaf) {
			t.Fatalf("round %d: DER is not the leaf certificate", i)
		}
		clear(stream) // the caller reuses its buffer: the cache must not see it
	}
	if len(cc.m) != 1 {
		t.Fatalf("%d certificates cached, want 1", len(cc.m))
	}
	if got, _, _ := cc.ParseServerCertificate(flight); got.CommonName != "demo.example" {
		t.Fatalf("after the buffer was cleared: %q", got.CommonName)
	}

	// a malformed certificate is not remembered as a good one
	bad := append([]byte(nil), flight...)
	bad[len(bad)-len(leaf)+10] ^= 0xff
	if _, _, err := cc.ParseServerCertificate(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt certificate: %v", err)
	}

	// many distinct certificates: the cache empties itself past its bound
	der := selfSigned(t, "many.example", nil, nil)
	for i := range 2 * certCacheBytes / len(der) {
		d := append([]byte(nil), der...)
		d[len(d)-1] ^= byte(i) // a different key (a signature byte)
		d[len(d)-2] ^= byte(i >> 8)
		cc.put(d, Certificate{CommonName: "many.example"})
		if cc.bytes > certCacheBytes {
			t.Fatalf("cache holds %d bytes, bound %d", cc.bytes, certCacheBytes)
		}
	}
}
