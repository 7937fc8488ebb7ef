package flow

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// An XMPP client names the server's domain in its stream header, cut
// across segments or not; the session may then turn into TLS, whose
// ClientHello and certificate are still read. Other text protocols learn
// no XMPP name.
func TestXMPPStreamHeader(t *testing.T) {
	cert := tlshello.BuildServerCertificate(certDER(t, "chat.example.com", "Example Chat Ltd"))
	const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='Xiaomi.COM' version='1.0'>"
	for _, tc := range []struct {
		name    string
		port    uint16
		client  []string // the client's plaintext segments, in order
		upgrade bool
		to      string
	}{
		{"one segment", 5222, []string{header}, false, "xiaomi.com"},
		{"cut in the element", 5222, []string{header[:40], header[40:]}, false, "xiaomi.com"},
		{"declaration first", 5222, []string{header[:21], header[21:]}, false, "xiaomi.com"},
		{"then STARTTLS", 5222, []string{header, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"}, true, "xiaomi.com"},
		{"another port", 443, []string{header}, false, "xiaomi.com"},
		{"smtp", 25, []string{"EHLO laptop\r\n", "<stream:stream to='xiaomi.com'>"}, false, ""},
		{"header too long", 5222, []string{"<stream:stream a='" + string(repeat('x', 1500)), string(repeat('y', 1500)) + "' to='xiaomi.com'>"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, out := collect(DefaultConfig())
			dev, srv := "192.168.1.5", "203.205.232.7"
			at := t0
			step := func() time.Time { at = at.Add(time.Millisecond); return at }
			cs, ss := uint32(100), uint32(900)
			cli := func(b []byte) {
				tr.Packet(tcp(dev, srv, 50000, tc.port, cs, decode.ACK, b), 66+len(b), step())
				cs += uint32(len(b))
			}
			serv := func(b []byte) {
				tr.Packet(tcp(srv, dev, tc.port, 50000, ss, decode.ACK, b), 66+len(b), step())
				ss += uint32(len(b))
			}
			tr.Packet(tcp(dev, srv, 50000, tc.port, cs, decode.SYN, nil), 74, step())
			cs++
			tr.Packet(tcp(srv, dev, tc.port, 50000, ss, decode.SYN|decode.ACK, nil), 74, step())
			ss++
			for _, seg := range tc.client {
				cli([]byte(seg))
				serv([]byte("<stream:features/>"))
			}
			if tc.upgrade {
				serv([]byte("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
				cli(tlshello.BuildClientHello("chat.example.com", nil))
				serv(cert)
			}
			tr.Flush()
			if len(*out) != 1 {
				t.Fatalf("%d flows", len(*out))
			}
			f := (*out)[0]
			if f.XMPPTo != tc.to {
				t.Errorf("XMPPTo %q, want %q", f.XMPPTo, tc.to)
			}
			if tc.upgrade && (f.SNI != "chat.example.com" || f.CertOrg != "Example Chat Ltd" || tr.Stats.STARTTLS != 1) {
				t.Errorf("after STARTTLS: SNI %q cert %q STARTTLS %d", f.SNI, f.CertOrg, tr.Stats.STARTTLS)
			}
			want := uint64(0)
			if tc.to != "" {
				want = 1
			}
			if tr.Stats.XMPPHeaders != want {
				t.Errorf("XMPPHeaders %d, want %d", tr.Stats.XMPPHeaders, want)
			}
		})
	}
}

func repeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
