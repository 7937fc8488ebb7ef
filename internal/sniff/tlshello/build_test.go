package tlshello

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestBuildClientHelloAcceptedByCryptoTLS hands the built ClientHello to a
// real crypto/tls server, so that demo captures hold messages real
// dissectors read the same way.
func TestBuildClientHelloAcceptedByCryptoTLS(t *testing.T) {
	tests := []struct {
		sni  string
		alpn []string
	}{
		{"demo.example.com", []string{"h2", "http/1.1"}},
		{"no-alpn.example", nil},
	}
	for _, tc := range tests {
		t.Run(tc.sni, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			got := make(chan *tls.ClientHelloInfo, 1)
			cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				got <- h
				return nil, errors.New("enough")
			}}
			done := make(chan error, 1)
			go func() {
				done <- tls.Server(server, cfg).Handshake()
				server.Close()
			}()
			go func() { _, _ = io.Copy(io.Discard, client) }()
			if _, err := client.Write(BuildClientHello(tc.sni, tc.alpn)); err != nil {
				t.Fatal(err)
			}
			// The callback sends on got and then fails the handshake, so
			// done may be ready too: a hello that reached the callback
			// always wins.
			var h *tls.ClientHelloInfo
			select {
			case h = <-got:
			case err := <-done:
				select {
				case h = <-got:
				default:
					t.Fatalf("crypto/tls rejected the ClientHello: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("crypto/tls did not read the ClientHello")
			}
			if h.ServerName != tc.sni || len(h.SupportedProtos) != len(tc.alpn) {
				t.Errorf("crypto/tls saw %q %v", h.ServerName, h.SupportedProtos)
			}
			vs := map[uint16]bool{}
			for _, v := range h.SupportedVersions {
				vs[v] = true
			}
			if !vs[tls.VersionTLS13] || !vs[tls.VersionTLS12] {
				t.Errorf("versions %x", h.SupportedVersions)
			}
		})
	}
}

// TestBuildServerCertificateReadByCryptoTLS plays the built server flight
// to a real crypto/tls client and checks it receives the certificate.
func TestBuildServerCertificateReadByCryptoTLS(t *testing.T) {
	leaf := selfSigned(t, "flight.example", []string{"Flight Org"}, []string{"flight.example"})
	client, server := net.Pipe()
	defer server.Close()
	got := make(chan *x509.Certificate, 1)
	cfg := &tls.Config{
		InsecureSkipVerify: true,
		MaxVersion:         tls.VersionTLS12,
		NextProtos:         []string{"h2"},
		ServerName:         "flight.example",
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			c, err := x509.ParseCertificate(raw[0])
			if err == nil {
				got <- c
			}
			return err
		},
	}
	done := make(chan error, 1)
	go func() {
		done <- tls.Client(client, cfg).Handshake()
		client.Close()
	}()
	// Read the client's hello record, then answer with the flight.
	var hdr [5]byte
	if _, err := io.ReadFull(server, hdr[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, server, int64(hdr[3])<<8|int64(hdr[4])); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = server.Write(BuildServerCertificate(leaf)) }()
	go func() { _, _ = io.Copy(io.Discard, server) }()
	var c *x509.Certificate
	select {
	case c = <-got:
	case err := <-done:
		select { // the callback may have sent before the handshake ended
		case c = <-got:
		default:
			t.Fatalf("crypto/tls rejected the flight before the certificate: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("crypto/tls did not read the flight")
	}
	if c.Subject.CommonName != "flight.example" || c.Subject.Organization[0] != "Flight Org" {
		t.Errorf("crypto/tls saw %v", c.Subject)
	}
}
