package demo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/sniff/quic"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// exchange is one request and response of an application protocol, in
// bytes of TLS records (or UDP payload for QUIC).
type exchange struct{ up, down int }

// tlsSpec describes one TLS connection to port 443.
type tlsSpec struct {
	sni  string
	addr netip.Addr
	alpn []string
	acct *Counts
	// split sends the ClientHello in two TCP segments, cut inside the
	// server name, so that only reassembly recovers it.
	split bool
	// ech adds an encrypted_client_hello extension: sni is then the public
	// name.
	ech bool
	// chain makes the connection TLS 1.2, its server flight carrying these
	// certificates in clear; nil means TLS 1.3.
	chain [][]byte
	ex    []exchange
}

// TLS record content types.
const (
	recCCS       = 20
	recAlert     = 21
	recHandshake = 22
	recAppData   = 23
)

// maxRecordPayload is a full TLS 1.3 record's ciphertext: 2^14 bytes of
// plaintext, the content type byte and a 16-byte AEAD tag.
const maxRecordPayload = 16384 + 1 + 16

// tlsFlow runs one TLS connection: handshake, the exchanges, close_notify
// and FIN teardown.
func (s *script) tlsFlow(sp tlsSpec) {
	c := s.dial(sp.addr, 443, sp.acct)
	hello := tlshello.BuildClientHello(sp.sni, sp.alpn)
	if sp.ech {
		hello = withECH(hello, byte(s.rng.Uint32()), s.rng)
	}
	if at := bytes.Index(hello, []byte(sp.sni)); sp.split && at > 0 {
		c.send(true, hello, at+4)
	} else {
		c.send(true, hello)
	}
	s.wait(c.rtt)
	if sp.chain == nil {
		var flight []byte
		flight = append(flight, serverHello13(hello, s.rng)...)
		flight = append(flight, recCCS, 3, 3, 0, 1, 1)
		// EncryptedExtensions, Certificate, CertificateVerify, Finished.
		flight = append(flight, s.appData(2400+s.rng.IntN(2400))...)
		c.send(false, flight)
		s.waitUS(1000, 6000)
		fin := []byte{recCCS, 3, 3, 0, 1, 1}
		fin = append(fin, s.appData(5+53)...)
		c.send(true, fin)
		s.waitUS(200, 2000)
		// Two NewSessionTicket messages.
		c.send(false, s.appData(2*(5+250)))
	} else {
		c.send(false, tlshello.BuildServerCertificate(sp.chain...))
		s.waitUS(2000, 15000) // an embedded client's key exchange is slow
		var kx []byte
		kx = append(kx, recHandshake, 3, 3, 0, 37, 16, 0, 0, 33, 32)
		kx = append(kx, s.randBytes(32)...)
		kx = append(kx, recCCS, 3, 3, 0, 1, 1)
		kx = append(kx, recHandshake, 3, 3, 0, 40)
		kx = append(kx, s.randBytes(40)...)
		c.send(true, kx)
		s.wait(c.rtt)
		fin := []byte{recCCS, 3, 3, 0, 1, 1, recHandshake, 3, 3, 0, 40}
		fin = append(fin, s.randBytes(40)...)
		c.send(false, fin)
	}
	for i, e := range sp.ex {
		if i > 0 {
			c.think()
		}
		s.waitUS(500, 3000)
		c.send(true, s.appData(e.up))
		s.wait(c.rtt)
		c.send(false, s.appData(e.down))
	}
	s.waitUS(1000, 50000)
	if sp.chain == nil {
		c.send(true, s.appData(5+19)) // close_notify, encrypted
	} else {
		alert := []byte{recAlert, 3, 3, 0, 26}
		c.send(true, append(alert, s.randBytes(26)...))
	}
	c.close()
}

// appData returns n bytes (at least 6) of TLS application data records
// with random contents, in scratch space valid until the next call.
func (s *script) appData(n int) []byte {
	n = max(n, 6)
	b := s.randBytes(n)
	for off := 0; off < n; {
		rec := n - off - 5
		if rec > maxRecordPayload {
			rec = maxRecordPayload
			if n-off-5-rec < 6 {
				rec -= 6
			}
		}
		b[off], b[off+1], b[off+2] = recAppData, 3, 3
		b[off+3], b[off+4] = byte(rec>>8), byte(rec)
		off += 5 + rec
	}
	return b
}

// serverHello13 is a ServerHello record choosing TLS 1.3, X25519 and
// TLS_AES_128_GCM_SHA256, echoing the ClientHello's legacy session id.
func serverHello13(clientHello []byte, rng *rand.Rand) []byte {
	sid := clientHello[5+4+2+32+1 : 5+4+2+32+1+int(clientHello[5+4+2+32])]
	var body []byte
	body = append(body, 3, 3)
	body = appendRand(body, rng, 32)
	body = append(body, byte(len(sid)))
	body = append(body, sid...)
	body = append(body, 0x13, 0x01, 0)
	body = append(body, 0, 46)             // extensions length
	body = append(body, 0, 43, 0, 2, 3, 4) // supported_versions: TLS 1.3
	body = append(body, 0, 51, 0, 36, 0, 0x1d, 0, 32)
	body = appendRand(body, rng, 32) // key_share
	msg := append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{recHandshake, 3, 3, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func appendRand(b []byte, rng *rand.Rand, n int) []byte {
	for range n {
		b = append(b, byte(rng.Uint32()))
	}
	return b
}

// withECH returns a copy of a ClientHello record with an outer
// encrypted_client_hello extension (draft-ietf-tls-esni-22 section 5)
// appended: HPKE X25519/HKDF-SHA256/AES-128-GCM, a 32-byte encapsulated key
// and a 240-byte encrypted inner ClientHello, as Chrome sends.
func withECH(hello []byte, configID byte, rng *rand.Rand) []byte {
	var ext []byte
	ext = append(ext, 0xfe, 0x0d, 0, 0) // type, length (set below)
	ext = append(ext, 0, 0, 1, 0, 1, configID)
	ext = append(ext, 0, 32)
	ext = appendRand(ext, rng, 32)
	ext = append(ext, 0, 240)
	ext = appendRand(ext, rng, 240)
	n := len(ext) - 4
	ext[2], ext[3] = byte(n>>8), byte(n)

	p := 5 + 4 + 2 + 32
	p += 1 + int(hello[p])                        // legacy session id
	p += 2 + (int(hello[p])<<8 | int(hello[p+1])) // cipher suites
	p += 1 + int(hello[p])                        // compression methods
	out := append(bytes.Clone(hello), ext...)
	add := func(at, size int) {
		v := 0
		for i := range size {
			v = v<<8 | int(out[at+i])
		}
		v += len(ext)
		for i := size - 1; i >= 0; i-- {
			out[at+i] = byte(v)
			v >>= 8
		}
	}
	add(p, 2) // extensions
	add(6, 3) // handshake message
	add(3, 2) // record
	return out
}

// httpGet runs a plain HTTP/1.1 GET on port 80 with a response of about
// bodyLen bytes of HTML.
func (s *script) httpGet(addr netip.Addr, host, path, userAgent string, bodyLen int, acct *Counts) {
	c := s.dial(addr, 80, acct)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: " + userAgent +
		"\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: keep-alive\r\n\r\n"
	c.send(true, []byte(req))
	s.wait(c.rtt)
	var body strings.Builder
	body.WriteString("<!doctype html><html><head><title>" + host + "</title></head><body>\n")
	for body.Len() < bodyLen-15 {
		body.WriteString("<p>" + strconv.Itoa(s.rng.IntN(1e9)) + " lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n")
	}
	body.WriteString("</body></html>\n")
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: " + strconv.Itoa(body.Len()) +
		"\r\nCache-Control: max-age=600\r\nConnection: keep-alive\r\n\r\n" + body.String()
	c.send(false, []byte(resp))
	s.waitUS(20000, 300000)
	c.close()
}

// quicFlow runs a QUIC v1 connection on UDP 443: the client's Initial
// carries a ClientHello naming sni, the server answers with long-header
// Initial and Handshake packets, then both sides exchange short-header
// packets (random bytes behind a plausible first byte and connection id).
func (s *script) quicFlow(addr netip.Addr, sni string, acct *Counts, ex []exchange) error {
	sport := s.port()
	dcid := appendRand(nil, s.rng, 8)
	scid := appendRand(nil, s.rng, 8)
	srvCID := appendRand(nil, s.rng, 8)
	hello := tlshello.BuildQUICClientHello(sni, []string{"h3"}, scid)
	initial, err := quic.BuildClientInitial(1, dcid, scid, hello)
	if err != nil {
		return fmt.Errorf("QUIC Initial for %s: %w", sni, err)
	}
	rtt := time.Duration(30+s.rng.IntN(60)) * time.Millisecond
	ttl := byte(44 + s.rng.IntN(10))
	s.udpOut(addr, sport, 443, initial, acct)
	s.wait(rtt)
	long := func(typ byte, dst, src []byte, size int) []byte {
		b := []byte{0xc0 | typ<<4 | byte(s.rng.IntN(4)), 0, 0, 0, 1, byte(len(dst))}
		b = append(b, dst...)
		b = append(b, byte(len(src)))
		b = append(b, src...)
		if typ == 0 {
			b = append(b, 0) // token length
		}
		rest := size - len(b) - 2
		b = append(b, 0x40|byte(rest>>8), byte(rest))
		return append(b, s.randBytes(rest)...)
	}
	short := func(dst []byte, size int) []byte {
		b := []byte{0x40 | byte(s.rng.IntN(64))}
		b = append(b, dst...)
		return append(b, s.randBytes(size-len(b))...)
	}
	s.udpIn(addr, ttl, 443, sport, long(0, scid, srvCID, 1200), acct)
	s.waitUS(50, 300)
	s.udpIn(addr, ttl, 443, sport, long(2, scid, srvCID, 1200), acct)
	s.waitUS(50, 300)
	s.udpIn(addr, ttl, 443, sport, long(2, scid, srvCID, 600+s.rng.IntN(400)), acct)
	s.waitUS(2000, 8000)
	s.udpOut(addr, sport, 443, long(2, srvCID, scid, 90+s.rng.IntN(20)), acct)
	const maxDatagram = 1252
	sendDir := func(up bool, n int) {
		for i := 0; n > 0; i++ {
			size := min(n, maxDatagram)
			size = max(size, 30)
			if up {
				s.udpOut(addr, sport, 443, short(srvCID, size), acct)
			} else {
				s.udpIn(addr, ttl, 443, sport, short(scid, size), acct)
			}
			n -= size
			if i%2 == 1 || n <= 0 { // the receiver acknowledges
				s.waitUS(100, 1000)
				if up {
					s.udpIn(addr, ttl, 443, sport, short(scid, 40+s.rng.IntN(10)), acct)
				} else {
					s.udpOut(addr, sport, 443, short(srvCID, 40+s.rng.IntN(10)), acct)
				}
			}
			s.waitUS(30, 200)
		}
	}
	for _, e := range ex {
		s.waitUS(20000, 900000)
		sendDir(true, e.up)
		s.wait(rtt)
		sendDir(false, e.down)
	}
	return nil
}

// hikvisionChain makes the camera cloud's certificate chain: a leaf whose
// subject organisation is Hikvision's, signed by a demo CA. Keys are
// ed25519 from fixed seeds and validity derives from start, so the DER is
// the same for the same Options.
func hikvisionChain(start time.Time) (leaf, ca []byte, err error) {
	key := func(label string) ed25519.PrivateKey {
		seed := sha256.Sum256([]byte("outflow demo key: " + label))
		return ed25519.NewKeyFromSeed(seed[:])
	}
	caKey, leafKey := key("ca"), key("hik-connect")
	notBefore := start.UTC().Truncate(24*time.Hour).AddDate(0, -2, 0)
	notAfter := notBefore.AddDate(1, 0, 0)
	var seed [32]byte
	copy(seed[:], "outflow demo certificate reader")
	r := rand.NewChaCha8(seed)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x0de0ca),
		Subject:               pkix.Name{CommonName: "Outflow Demo Issuing CA", Organization: []string{"Outflow Demo Trust Services"}, Country: []string{"NL"}},
		NotBefore:             notBefore.AddDate(-2, 0, 0),
		NotAfter:              notAfter.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	ca, err = x509.CreateCertificate(r, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("demo CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(ca)
	if err != nil {
		return nil, nil, fmt.Errorf("demo CA certificate: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x41c0221),
		Subject: pkix.Name{
			CommonName:   "*.hik-connect.com",
			Organization: []string{"Hangzhou Hikvision Digital Technology Co., Ltd."},
			Locality:     []string{"Hangzhou"},
			Province:     []string{"Zhejiang"},
			Country:      []string{"CN"},
		},
		DNSNames:    []string{"*.hik-connect.com", "hik-connect.com"},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf, err = x509.CreateCertificate(r, leafTmpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("demo leaf certificate: %w", err)
	}
	return leaf, ca, nil
}
