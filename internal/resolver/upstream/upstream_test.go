package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/resolvertest"
)

func ask(t *testing.T, p *Pool, name string) (*dns.Msg, *Upstream, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	return p.Exchange(context.Background(), m)
}

func cfg(servers ...Server) Config {
	c := DefaultConfig()
	c.Servers = servers
	c.Timeout = 500 * time.Millisecond
	c.FailAfter = 2
	return c
}

// deadAddr is a loopback UDP and TCP port nobody listens on.
func deadAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestProtocols(t *testing.T) {
	auth := resolvertest.NewAuth(t, "www.example.com. 300 IN A 192.0.2.1")
	cert, key := resolvertest.Cert(t)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{pair}}

	// DoT: a miekg server over TLS forwarding to auth.
	fwd := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		resp, err := dns.Exchange(r, auth.Addr)
		if err != nil {
			return
		}
		w.WriteMsg(resp)
	})
	tl, err := tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	dot := &dns.Server{Listener: tl, Handler: fwd}
	go dot.ActivateAndServe()
	t.Cleanup(func() { dot.Shutdown() })

	// DoH: POST application/dns-message.
	hl, err := tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := new(dns.Msg)
		if r.URL.Path != "/dns-query" || m.Unpack(b) != nil || m.Id != 0 {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		resp, err := dns.Exchange(m, auth.Addr)
		if err != nil {
			http.Error(w, "upstream", http.StatusBadGateway)
			return
		}
		out, _ := resp.Pack()
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(out)
	})}
	go hs.Serve(hl)
	t.Cleanup(func() { hs.Close() })

	for _, s := range []Server{
		{Address: auth.Addr},
		{Address: "udp://" + auth.Addr},
		{Address: "tcp://" + auth.Addr},
		{Address: "tls://" + tl.Addr().String(), CAFile: cert},
		{Address: "https://" + hl.Addr().String() + "/dns-query", CAFile: cert},
	} {
		t.Run(s.Address, func(t *testing.T) {
			p, err := New(cfg(s), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for i := 0; i < 2; i++ { // the second reuses a pooled connection
				r, _, err := ask(t, p, "www.example.com.")
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
					t.Fatalf("answer = %v", r)
				}
			}
		})
	}
}

func TestFailoverAndHealth(t *testing.T) {
	auth := resolvertest.NewAuth(t, "www.example.com. 300 IN A 192.0.2.1")
	dead := deadAddr(t)
	var errs int
	p, err := New(cfg(Server{Address: dead}, Server{Address: auth.Addr}), nil, func(u *Upstream, _ time.Duration, err error) {
		if err != nil {
			errs++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 3; i++ {
		_, u, err := ask(t, p, "www.example.com.")
		if err != nil || u.Name != auth.Addr {
			t.Fatalf("query %d: answered by %v, %v", i, u, err)
		}
	}
	if p.Upstreams()[0].Healthy() || errs != 2 {
		t.Errorf("dead upstream healthy=%v after %d errors; want down after 2", p.Upstreams()[0].Healthy(), errs)
	}
	auth.Stop()
	for i := 0; i < 2; i++ {
		ask(t, p, "www.example.com.")
	}
	if _, _, err := ask(t, p, "www.example.com."); !errors.Is(err, ErrNoUpstream) {
		t.Fatalf("all down: err = %v", err)
	}
	auth.Restart()
	p.Check(context.Background())
	if !p.Upstreams()[1].Healthy() || p.Upstreams()[0].Healthy() {
		t.Fatalf("after the health check: %v %v", p.Upstreams()[0].Healthy(), p.Upstreams()[1].Healthy())
	}
	if _, u, err := ask(t, p, "www.example.com."); err != nil || u != p.Upstreams()[1] {
		t.Fatalf("after recovery: %v %v", u, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, s := range []string{"dns.google:53", "quic://1.1.1.1", "https://", "tls://[::1"} {
		if _, err := New(cfg(Server{Address: s}), nil, nil); err == nil {
			t.Errorf("New(%q) accepted", s)
		}
	}
	if _, err := New(DefaultConfig(), nil, nil); err == nil {
		t.Error("no servers accepted")
	}
}
