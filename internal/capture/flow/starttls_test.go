package flow

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

func certDER(t *testing.T, cn, org string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn, Organization: []string{org}},
		DNSNames: []string{cn}, NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// A mail, chat or file session that turns into TLS names its server by
// the ClientHello and the certificate that follow the upgrade command, as
// a TLS port does; a session that never upgrades learns nothing.
func TestSTARTTLS(t *testing.T) {
	cert := tlshello.BuildServerCertificate(certDER(t, "imap.qq.com", "Shenzhen Tencent Computer Systems Company Limited"))
	for _, tc := range []struct {
		name            string
		port            uint16
		banner, command string
		reply           string
		sni             string
		upgrade         bool
	}{
		{"smtp", 587, "220 smtp.example ESMTP\r\n", "EHLO laptop\r\nSTARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n", "smtp.qq.com", true},
		{"imap", 143, "* OK IMAP4rev1 ready\r\n", "a001 STARTTLS\r\n", "a001 OK Begin TLS\r\n", "imap.qq.com", true},
		{"pop3", 110, "+OK POP3 ready\r\n", "STLS\r\n", "+OK Begin TLS\r\n", "", true},
		{"ftp", 21, "220 FTP ready\r\n", "AUTH TLS\r\n", "234 AUTH TLS OK\r\n", "ftp.example", true},
		{"xmpp", 5222, "<?xml version='1.0'?><stream:stream from='qq.com' xmlns='jabber:client'>", "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "chat.qq.com", true},
		{"smtp without upgrade", 25, "220 smtp.example ESMTP\r\n", "EHLO laptop\r\nMAIL FROM:<a@b>\r\n", "250 OK\r\n", "", false},
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
			serv([]byte(tc.banner))
			cli([]byte(tc.command))
			serv([]byte(tc.reply))
			if tc.upgrade {
				cli(tlshello.BuildClientHello(tc.sni, nil))
				serv(cert[:30]) // the flight across two segments
				serv(cert[30:])
			} else {
				cli([]byte("DATA\r\n"))
				serv(cert) // a certificate-shaped body is not a handshake here
			}
			tr.Flush()
			if len(*out) != 1 {
				t.Fatalf("%d flows", len(*out))
			}
			f := (*out)[0]
			if !tc.upgrade {
				if f.SNI != "" || f.CertOrg != "" || tr.Stats.STARTTLS != 0 {
					t.Errorf("learned SNI %q cert %q without an upgrade", f.SNI, f.CertOrg)
				}
				return
			}
			if f.SNI != tc.sni || f.CertOrg != "Shenzhen Tencent Computer Systems Company Limited" || f.CertCN != "imap.qq.com" || tr.Stats.STARTTLS != 1 {
				t.Errorf("SNI %q cert %q/%q STARTTLS %d", f.SNI, f.CertOrg, f.CertCN, tr.Stats.STARTTLS)
			}
		})
	}
}

// A flow done with its certificate leaves its buffer to the next flow
// that collects one; flows collecting at the same time each keep their
// own, and each learns its own server's certificate.
func TestCertBuffersReused(t *testing.T) {
	tr, out := collect(DefaultConfig())
	at := t0
	step := func() time.Time { at = at.Add(time.Millisecond); return at }
	type conn struct {
		dev, srv string
		cs, ss   uint32
		cert     []byte
	}
	conns := make([]*conn, 3)
	for i := range conns {
		cn := []string{"a.example", "b.example", "c.example"}[i]
		c := &conn{dev: "192.168.1.5", srv: "203.0.113." + string(rune('1'+i)), cs: 100, ss: 900,
			cert: tlshello.BuildServerCertificate(certDER(t, cn, "Org "+cn))}
		conns[i] = c
		tr.Packet(tcp(c.dev, c.srv, 50000, 443, c.cs, decode.SYN, nil), 74, step())
		c.cs++
		tr.Packet(tcp(c.srv, c.dev, 443, 50000, c.ss, decode.SYN|decode.ACK, nil), 74, step())
		c.ss++
		hello := tlshello.BuildClientHello(cn, nil)
		tr.Packet(tcp(c.dev, c.srv, 50000, 443, c.cs, decode.ACK, hello), 66+len(hello), step())
		c.cs += uint32(len(hello))
	}
	serv := func(c *conn, b []byte) {
		tr.Packet(tcp(c.srv, c.dev, 443, 50000, c.ss, decode.ACK, b), 66+len(b), step())
		c.ss += uint32(len(b))
	}
	a, b, c := conns[0], conns[1], conns[2]
	serv(a, a.cert[:40]) // a collects
	serv(b, b.cert[:40])
	serv(b, b.cert[40:]) // b done: its buffer kept
	if len(tr.certBufs) != 1 {
		t.Fatalf("%d buffers kept after a certificate, want 1", len(tr.certBufs))
	}
	serv(c, c.cert[:40]) // c takes it
	if len(tr.certBufs) != 0 {
		t.Fatalf("%d buffers kept while c collects, want 0", len(tr.certBufs))
	}
	serv(a, a.cert[40:])
	serv(c, c.cert[40:])
	tr.Flush()
	if len(*out) != 3 {
		t.Fatalf("%d flows", len(*out))
	}
	for _, f := range *out {
		want := map[string]string{"203.0.113.1": "a.example", "203.0.113.2": "b.example", "203.0.113.3": "c.example"}[f.Peer.String()]
		if f.CertCN != want || f.CertOrg != "Org "+want {
			t.Errorf("%s: certificate %q/%q, want %q", f.Peer, f.CertCN, f.CertOrg, want)
		}
	}
}
