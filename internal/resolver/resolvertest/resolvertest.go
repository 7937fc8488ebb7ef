// Package resolvertest runs real DNS peers on 127.0.0.1 for the resolver's
// tests: an authoritative server that answers from a list of records (as
// an upstream recursive resolver would, following CNAMEs), and a
// self-signed certificate for the TLS listeners and upstreams.
//
// It is imported by tests only and must never import other outflow
// packages.
package resolvertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Auth is an in-process DNS server over UDP and TCP on one loopback port.
type Auth struct {
	Addr    string // 127.0.0.1:PORT
	Queries atomic.Int64

	mu      sync.Mutex
	records map[string][]dns.RR // by lowercase owner name
	udp     *dns.Server
	tcp     *dns.Server
	tb      testing.TB
}

// NewAuth starts a server answering from records in zone-file syntax
// ("www.example.com. 300 IN A 192.0.2.1"). It stops when the test ends.
func NewAuth(tb testing.TB, records ...string) *Auth {
	tb.Helper()
	a := &Auth{tb: tb}
	a.Set(records...)
	// The TCP port of the same number may be taken: try a few.
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		a.Addr = pc.LocalAddr().String()
		l, err := net.Listen("tcp", a.Addr)
		if err != nil {
			pc.Close()
			if try < 20 {
				continue
			}
			tb.Fatal(err)
		}
		a.start(pc, l)
		break
	}
	tb.Cleanup(a.Stop)
	return a
}

func (a *Auth) start(pc net.PacketConn, l net.Listener) {
	a.tb.Helper()
	h := dns.HandlerFunc(a.serve)
	a.mu.Lock()
	a.udp = &dns.Server{PacketConn: pc, Handler: h}
	a.tcp = &dns.Server{Listener: l, Handler: h}
	udp, tcp := a.udp, a.tcp
	a.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	udp.NotifyStartedFunc = wg.Done
	tcp.NotifyStartedFunc = wg.Done
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	wg.Wait()
}

// Set replaces the records.
func (a *Auth) Set(records ...string) {
	m := map[string][]dns.RR{}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			a.tb.Fatalf("record %q: %v", s, err)
		}
		k := strings.ToLower(rr.Header().Name)
		m[k] = append(m[k], rr)
	}
	a.mu.Lock()
	a.records = m
	a.mu.Unlock()
}

// Stop shuts the server down (the port stays unanswered).
func (a *Auth) Stop() {
	a.mu.Lock()
	udp, tcp := a.udp, a.tcp
	a.udp, a.tcp = nil, nil
	a.mu.Unlock()
	if udp != nil {
		udp.Shutdown()
	}
	if tcp != nil {
		tcp.Shutdown()
	}
}

// Restart listens again on the same port after Stop.
func (a *Auth) Restart() {
	a.tb.Helper()
	pc, err := net.ListenPacket("udp", a.Addr)
	if err != nil {
		a.tb.Fatal(err)
	}
	l, err := net.Listen("tcp", a.Addr)
	if err != nil {
		pc.Close()
		a.tb.Fatal(err)
	}
	a.start(pc, l)
}

func (a *Auth) serve(w dns.ResponseWriter, req *dns.Msg) {
	a.Queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	a.mu.Lock()
	name := strings.ToLower(q.Name)
	found := false
	for hops := 0; hops < 8; hops++ {
		rrs := a.records[name]
		if len(rrs) > 0 {
			found = true
		}
		var next string
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY:
				m.Answer = append(m.Answer, dns.Copy(rr))
			case rr.Header().Rrtype == dns.TypeCNAME:
				m.Answer = append(m.Answer, dns.Copy(rr))
				next = strings.ToLower(rr.(*dns.CNAME).Target)
			}
		}
		if next == "" {
			break
		}
		name = next
	}
	a.mu.Unlock()
	if !found {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns: "ns.test.", Mbox: "hostmaster.test.", Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 30}}
	}
	size := dns.MinMsgSize
	if o := req.IsEdns0(); o != nil {
		m.SetEdns0(1232, o.Do())
		size = int(min(o.UDPSize(), 1232))
	}
	if w.RemoteAddr().Network() == "udp" {
		m.Truncate(size) // as a real server does: TC set, the client retries over TCP
	}
	w.WriteMsg(m)
}

// Cert writes a self-signed certificate for 127.0.0.1, ::1 and the given
// names into a temporary directory and returns the certificate (also the
// CA file to trust) and key file paths.
func Cert(tb testing.TB, names ...string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "outflow test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: append([]string{"localhost"}, names...),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}
