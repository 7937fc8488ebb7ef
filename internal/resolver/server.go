package resolver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/resolver/cache"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/ratelimit"
	"github.com/outflow-dev/outflow/internal/resolver/upstream"
)

// Deps are the resolver's dependencies; zero fields get defaults.
type Deps struct {
	Log *slog.Logger
	// Now is the clock of policy deadlines, cache TTLs and the query log.
	Now func() time.Time
	// LoadCatalog loads the catalog for a date (default: the built-in
	// catalog and Config.Catalog.Dirs).
	LoadCatalog func(at time.Time) (*catalog.Index, error)
	// Sinks receive the query log besides the JSON-lines file of
	// Config.QueryLog.Path (the SQLite store is one).
	Sinks []querylog.Sink
}

// Server is the resolver. New does no I/O; Start listens; Close stops.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	state    atomic.Pointer[state]
	reloadMu sync.Mutex
	badStamp stamp

	cache   *cache.Cache[*meta]
	limiter *ratelimit.Limiter
	pool    *upstream.Pool
	qlog    *querylog.Logger
	met     *metrics

	clients *clientTable  // MACs and hostnames of clients
	pending chan struct{} // semaphore of queries waiting for upstreams
	streams *streamTable  // TCP and DoT connections
	drops   udpDrops      // the kernel's drop counts of the UDP sockets
	flights flights
	xpool   sync.Pool

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	closers []func() error
	addrs   map[string][]net.Addr
}

// New checks the configuration and builds the components. It loads the
// policy and catalog (an error here is the error of a broken policy at
// start) but opens no socket.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.LoadCatalog == nil {
		deps.LoadCatalog = CatalogLoader(cfg.Catalog.Dirs)
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log, now: deps.Now,
		cache:   cache.New[*meta](cfg.Cache),
		limiter: ratelimit.New(cfg.RateLimit),
		pending: make(chan struct{}, cfg.Listen.MaxPending),
		addrs:   map[string][]net.Addr{},
	}
	s.flights.m = map[string]*flight{}
	s.xpool.New = func() any { return new(exchange) }
	// The JSON-lines file is opened in Start: New does no I/O.
	s.qlog = querylog.New(cfg.QueryLog, s.log, deps.Sinks...)
	s.met = newMetrics(s)
	s.clients = newClientTable(cfg.Clients, s.met)
	s.streams = newStreamTable(cfg.Listen.MaxTCP, cfg.Listen.MaxTCPPerClient, cfg.Listen.TCPIdle,
		s.met.tcpRefusedLimit.Inc, s.met.tcpRefusedClient.Inc)
	pool, err := upstream.New(cfg.Upstream, s.log, func(u *upstream.Upstream, rtt time.Duration, err error) {
		s.met.upDur.WithLabelValues(u.Name).Observe(rtt.Seconds())
		if err != nil {
			s.met.upErr.WithLabelValues(u.Name).Inc()
		}
	})
	if err != nil {
		return nil, err
	}
	s.pool = pool
	s.met.registerUpstreams(pool)
	st, err := s.load(1, nil)
	if err != nil {
		return nil, err
	}
	st.devices.Store(s.clients.devicesFor(st.pol)) // empty until Start reads the tables
	s.state.Store(st)
	s.met.generation.Set(1)
	// Loading a million names leaves their parsing garbage behind: return
	// it to the system now rather than when the scavenger gets to it.
	debug.FreeOSMemory()
	return s, nil
}

// Start opens the query log and every listener, and serves until Close or
// until ctx ends. An error means nothing is left listening.
func (s *Server) Start(ctx context.Context) (err error) {
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.cfg.QueryLog.Path != "" {
		j, err := querylog.OpenJSONL(s.cfg.QueryLog)
		if err != nil {
			return err
		}
		s.qlog = querylog.New(s.cfg.QueryLog, s.log, append([]querylog.Sink{j}, s.deps.Sinks...)...)
	}
	s.qlog.Start(s.ctx)
	s.pool.Start(s.ctx)
	s.readClients() // before the first query: its client may be in a group by MAC
	workers := s.cfg.Listen.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, a := range s.cfg.Listen.UDP {
		if err := s.listenUDP(a, workers); err != nil {
			return err
		}
	}
	for _, a := range s.cfg.Listen.TCP {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("listen tcp %s: %w", a, err)
		}
		s.serveStream(l, "tcp")
	}
	for _, t := range s.cfg.Listen.TLS {
		conf, err := tlsConfig(t.Cert, t.Key)
		if err != nil {
			return fmt.Errorf("listen tls %s: %w", t.Addr, err)
		}
		l, err := tls.Listen("tcp", t.Addr, conf)
		if err != nil {
			return fmt.Errorf("listen tls %s: %w", t.Addr, err)
		}
		s.serveStream(l, "dot")
	}
	for _, h := range s.cfg.Listen.HTTPS {
		if err := s.listenHTTPS(h); err != nil {
			return err
		}
	}
	if s.cfg.Metrics.Listen != "" {
		l, err := net.Listen("tcp", s.cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics listener %s: %w", s.cfg.Metrics.Listen, err)
		}
		s.addAddr("metrics", l.Addr())
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))
		if s.cfg.Metrics.Pprof {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		s.goServe(func() { srv.Serve(l) }, srv.Close)
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.watch(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.refreshClients(s.ctx)
	}()
	return nil
}

func tlsConfig(cert, key string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1", "dot"}}, nil
}

func (s *Server) addAddr(kind string, a net.Addr) {
	s.mu.Lock()
	s.addrs[kind] = append(s.addrs[kind], a)
	s.mu.Unlock()
}

// Addrs are the bound addresses by kind (udp, tcp, dot, doh, metrics), in
// configuration order: with port 0 in the configuration, the real ports.
func (s *Server) Addrs(kind string) []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs[kind]...)
}

func (s *Server) goServe(run func(), closer func() error) {
	if closer != nil {
		s.mu.Lock()
		s.closers = append(s.closers, closer)
		s.mu.Unlock()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		run()
	}()
}

// Close stops listening, waits for the listeners, flushes the query log
// and stops the upstream health checks.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for _, c := range closers {
		if err := c(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	errs = append(errs, s.qlog.Close(), s.pool.Close())
	return errors.Join(errs...)
}
