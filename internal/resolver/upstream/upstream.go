// Package upstream sends the resolver's cache misses to upstream
// resolvers over plain DNS (UDP with TCP fallback, or TCP), DNS over TLS or
// DNS over HTTPS, in order of preference: the first healthy one is asked,
// the next on failure. Failures mark an upstream down; a health check
// probes every upstream and brings it back.
//
// It must never import other outflow packages.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Server is one upstream as configured.
type Server struct {
	// Address is udp://HOST:PORT (or HOST:PORT), tcp://HOST:PORT,
	// tls://HOST:PORT or https://HOST[:PORT]/PATH.
	Address    string `yaml:"address"`
	ServerName string `yaml:"server_name"` // TLS name to verify (default: the host)
	CAFile     string `yaml:"ca_file"`     // PEM roots for TLS instead of the system's
}

// Config of the pool.
type Config struct {
	Servers        []Server      `yaml:"servers"`
	Timeout        time.Duration `yaml:"timeout"`         // one attempt
	HealthInterval time.Duration `yaml:"health_interval"` // between probes
	FailAfter      int           `yaml:"fail_after"`      // consecutive failures that mark an upstream down
	Probe          string        `yaml:"probe"`           // name asked (type NS) by the health check
}

// DefaultConfig has no servers: they must be given.
func DefaultConfig() Config {
	return Config{Timeout: 2 * time.Second, HealthInterval: 5 * time.Second, FailAfter: 3, Probe: "."}
}

// ErrNoUpstream is returned while every upstream is down.
var ErrNoUpstream = errors.New("upstream: every upstream is down")

// Upstream is one server with its health.
type Upstream struct {
	Name string // the address as configured
	kind string // udp, tcp, tls, https
	addr string // host:port, or URL for https

	udp, tcp *dns.Client
	http     *http.Client
	conns    chan *dns.Conn // idle TCP/TLS connections

	up    atomic.Bool
	fails atomic.Int32
	rtt   atomic.Int64 // smoothed, nanoseconds
}

// Healthy reports whether the upstream is in use.
func (u *Upstream) Healthy() bool { return u.up.Load() }

// Observer is told of every exchange, for metrics.
type Observer func(u *Upstream, rtt time.Duration, err error)

// Pool is the set of upstreams. It is safe for concurrent use.
type Pool struct {
	cfg  Config
	log  *slog.Logger
	ups  []*Upstream
	obs  Observer
	wg   sync.WaitGroup
	stop context.CancelFunc
}

// New parses the configuration; it does no I/O.
func New(cfg Config, log *slog.Logger, obs Observer) (*Pool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Servers) == 0 {
		return nil, errors.New("upstream: no servers configured")
	}
	if cfg.Timeout <= 0 || cfg.HealthInterval <= 0 || cfg.FailAfter < 1 {
		return nil, errors.New("upstream: timeout and health_interval must be positive, fail_after at least 1")
	}
	if cfg.Probe == "" {
		cfg.Probe = "."
	}
	p := &Pool{cfg: cfg, log: log, obs: obs}
	for _, s := range cfg.Servers {
		u, err := newUpstream(s, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		u.up.Store(true)
		p.ups = append(p.ups, u)
	}
	return p, nil
}

func newUpstream(s Server, timeout time.Duration) (*Upstream, error) {
	addr := s.Address
	kind := "udp"
	if i := strings.Index(addr, "://"); i >= 0 {
		kind, addr = addr[:i], addr[i+3:]
	}
	u := &Upstream{Name: s.Address, kind: kind, addr: addr, conns: make(chan *dns.Conn, 16)}
	var tlsConf *tls.Config
	if kind == "tls" || kind == "https" {
		tlsConf = &tls.Config{ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return nil, fmt.Errorf("upstream %s: ca_file: %w", s.Address, err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("upstream %s: ca_file %s holds no PEM certificate", s.Address, s.CAFile)
			}
			tlsConf.RootCAs = roots
		}
	}
	switch kind {
	case "udp", "tcp", "tls":
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			if net.ParseIP(addr) == nil {
				return nil, fmt.Errorf("upstream %s: not IP:PORT", s.Address)
			}
			host, port = addr, "53"
			if kind == "tls" {
				port = "853"
			}
		}
		if net.ParseIP(strings.Trim(host, "[]")) == nil {
			return nil, fmt.Errorf("upstream %s: give an IP address, not a name (the resolver would need itself to find it)", s.Address)
		}
		u.addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
		u.udp = &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 1232}
		u.tcp = &dns.Client{Net: "tcp", Timeout: timeout}
		if kind == "tls" {
			if tlsConf.ServerName == "" {
				tlsConf.ServerName = host
			}
			u.tcp = &dns.Client{Net: "tcp-tls", Timeout: timeout, TLSConfig: tlsConf}
		}
	case "https":
		pu, err := url.Parse(s.Address)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("upstream %s: not a URL", s.Address)
		}
		u.addr = s.Address
		tr := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: timeout}
		u.http = &http.Client{Transport: tr, Timeout: timeout}
	default:
		return nil, fmt.Errorf("upstream %s: scheme %q is not udp, tcp, tls or https", s.Address, kind)
	}
	return u, nil
}

// Upstreams lists the pool's upstreams in order of preference.
func (p *Pool) Upstreams() []*Upstream { return p.ups }

// Start runs the health checks until Close.
func (p *Pool) Start(ctx context.Context) {
	ctx, p.stop = context.WithCancel(ctx)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.cfg.HealthInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.Check(ctx)
			}
		}
	}()
}

// Check probes every upstream once.
func (p *Pool) Check(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range p.ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(p.cfg.Probe), dns.TypeNS)
			_, err := p.exchange(ctx, u, m)
			was := u.Healthy()
			p.record(u, err)
			if now := u.Healthy(); now != was {
				p.log.Warn("upstream health changed", "upstream", u.Name, "healthy", now, "err", err)
			}
		}()
	}
	wg.Wait()
}

// Close stops the health checks and closes idle connections.
func (p *Pool) Close() error {
	if p.stop != nil {
		p.stop()
	}
	p.wg.Wait()
	for _, u := range p.ups {
		for {
			select {
			case c := <-u.conns:
				c.Close()
				continue
			default:
			}
			break
		}
		if u.http != nil {
			u.http.CloseIdleConnections()
		}
	}
	return nil
}

func (p *Pool) record(u *Upstream, err error) {
	if err == nil {
		u.fails.Store(0)
		u.up.Store(true)
		return
	}
	if int(u.fails.Add(1)) >= p.cfg.FailAfter {
		u.up.Store(false)
	}
}

// Exchange asks the healthy upstreams in order until one answers. A
// SERVFAIL or REFUSED answer is passed on to the next upstream but
// returned if no other answers better. ErrNoUpstream is returned at once
// while every upstream is down.
func (p *Pool) Exchange(ctx context.Context, m *dns.Msg) (*dns.Msg, *Upstream, error) {
	var last *dns.Msg
	var lastU *Upstream
	var errs []error
	tried := 0
	for _, u := range p.ups {
		if !u.Healthy() {
			continue
		}
		tried++
		r, err := p.exchange(ctx, u, m)
		p.record(u, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.Name, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			last, lastU = r, u
			continue
		}
		return r, u, nil
	}
	if last != nil {
		return last, lastU, nil
	}
	if tried == 0 {
		return nil, nil, ErrNoUpstream
	}
	return nil, nil, errors.Join(errs...)
}

func (p *Pool) exchange(ctx context.Context, u *Upstream, m *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	start := time.Now()
	var r *dns.Msg
	var err error
	switch u.kind {
	case "udp":
		r, _, err = u.udp.ExchangeContext(ctx, m, u.addr)
		if err == nil && r.Truncated {
			r, err = u.stream(ctx, m)
		}
	case "tcp", "tls":
		r, err = u.stream(ctx, m)
	case "https":
		r, err = u.doh(ctx, m)
	}
	if err == nil && r.Id != m.Id {
		err = errors.New("upstream: answer ID does not match")
	}
	rtt := time.Since(start)
	if err == nil {
		old := u.rtt.Load()
		if old == 0 {
			u.rtt.Store(int64(rtt))
		} else {
			u.rtt.Store(old - old/8 + int64(rtt)/8)
		}
	}
	if p.obs != nil {
		p.obs(u, rtt, err)
	}
	return r, err
}

// stream exchanges over a pooled TCP or TLS connection.
func (u *Upstream) stream(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	var c *dns.Conn
	select {
	case c = <-u.conns:
	default:
	}
	if c != nil {
		r, _, err := u.tcp.ExchangeWithConnContext(ctx, m, c)
		if err == nil {
			u.putConn(c)
			return r, nil
		}
		c.Close() // a stale idle connection: dial a new one
	}
	c, err := u.tcp.DialContext(ctx, u.addr)
	if err != nil {
		return nil, err
	}
	r, _, err := u.tcp.ExchangeWithConnContext(ctx, m, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	u.putConn(c)
	return r, nil
}

func (u *Upstream) putConn(c *dns.Conn) {
	select {
	case u.conns <- c:
	default:
		c.Close()
	}
}

// doh sends an RFC 8484 POST.
func (u *Upstream) doh(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	id := m.Id
	m.Id = 0
	b, err := m.Pack()
	m.Id = id
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.addr, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/dns-message")
	req.Header.Set("Accept", "application/dns-message")
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upstream: HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 65536))
	if err != nil {
		return nil, err
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		return nil, err
	}
	r.Id = id
	return r, nil
}
