package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// Deps are the server's collaborators.
type Deps struct {
	// Reader is the store. When it also implements store.PolicyLog,
	// admins may change the policy file (Config.Policy) here; when it
	// implements store.UploadLog (and Audit is set), upload apps.
	Reader store.Reader
	Log    *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// Catalog loads the catalog policies are checked against; nil: the
	// built-in catalog with Config.CatalogDirs on top.
	Catalog func(at time.Time) (*catalog.Index, error)
	// Audit audits the app file at path and records it in the store, as
	// `outflow audit --store` does; nil: app uploads are off.
	Audit func(ctx context.Context, path string) error
}

// Server is the dashboard. New does no I/O; Start settles the upload
// jobs a previous run left and listens; Close stops.
type Server struct {
	cfg   Config
	r     store.Reader
	auth  *auth.Authenticator
	log   *slog.Logger
	now   func() time.Time
	pages *pages
	h     http.Handler

	proxies []netip.Prefix // trusted reverse proxies

	results resultCache

	loadCatalog func(time.Time) (*catalog.Index, error)
	cat         struct {
		sync.Mutex
		ix *catalog.Index
		at time.Time
	}
	policyMu sync.Mutex // one policy change at a time
	audit    func(ctx context.Context, path string) error
	up       uploads

	cache struct {
		sync.Mutex
		info     *store.Info
		infoAt   time.Time
		ents     map[string]store.Entity
		entsAt   time.Time
		entsList []store.Entity
	}

	mu sync.Mutex
	hs *http.Server
	ln net.Listener
}

// New checks the configuration and builds the handlers.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if d.Reader == nil {
		return nil, errors.New("serve: no store")
	}
	s := &Server{cfg: cfg, r: d.Reader, log: d.Log, now: d.Now, loadCatalog: d.Catalog, audit: d.Audit}
	if s.loadCatalog == nil {
		dirs := cfg.CatalogDirs
		s.loadCatalog = func(at time.Time) (*catalog.Index, error) { return catalog.Open(at, dirs...) }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if s.auth, err = auth.New(cfg.Auth, s.now); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if s.pages, err = parsePages(s); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.h = s.routes()
	return s, nil
}

// Handler is the whole dashboard: pages, API, assets.
func (s *Server) Handler() http.Handler { return s.h }

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /static/", s.static())
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /login", s.guard(public, false, s.loginPage))
	m.HandleFunc("POST /login", s.guard(changer, false, s.login))
	m.HandleFunc("POST /logout", s.guard(changer, false, s.logout))

	for _, a := range s.adminRoutes() {
		m.HandleFunc("POST "+a.path, s.guard(admin, false, a.h))
	}
	for _, p := range s.pageRoutes() {
		m.HandleFunc("GET "+p.path, s.guard(reader, false, p.h))
	}
	for _, a := range s.apiRoutes() {
		m.HandleFunc("GET "+a.path, s.guard(reader, true, a.h))
	}
	// Anything else: 404 for reads; other methods are refused by the
	// mux with 405 where a route exists.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			s.guard(reader, false, s.overviewPage)(w, r)
			return
		}
		s.guard(reader, isAPI(r), func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, http.StatusNotFound, "no such page")
		})(w, r)
	})
	return s.headers(s.hostCheck(s.authn(s.accessLog(m))))
}

// accessLog logs each request's method, path (never the query, which
// carries search terms), status and duration at debug level: no cookie,
// header, token or form value.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
			"ms", time.Since(t0).Milliseconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Start listens on the configured address (TLS when configured) and
// serves until Close or ctx ends.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if s.cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.Cert, s.cfg.TLS.Key)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: tls: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"}})
	}
	hs := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.mu.Lock()
	s.hs, s.ln = hs, ln
	s.mu.Unlock()
	s.resumeUploads(ctx)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve stopped", "err", err)
		}
	}()
	scheme := "http"
	if s.cfg.TLS.Enabled() {
		scheme = "https"
	}
	s.warm()
	s.log.Info("dashboard listening", "url", scheme+"://"+ln.Addr().String()+"/", "users", len(s.cfg.Auth.Users),
		"tokens", len(s.cfg.Auth.Tokens))
	return nil
}

func (s *Server) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hs != nil
}

// Addr is the listening address after Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops serving, letting requests in flight finish for a few
// seconds.
func (s *Server) Close() error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		return hs.Close()
	}
	return nil
}

// info is the store's Info, cached for a while: it names the newest data,
// which sets the default end of every period.
func (s *Server) info(ctx context.Context) (*store.Info, error) {
	s.cache.Lock()
	defer s.cache.Unlock()
	if s.cache.info != nil && s.now().Sub(s.cache.infoAt) < infoTTL {
		return s.cache.info, nil
	}
	inf, err := s.r.Info(ctx)
	if err != nil {
		return nil, err
	}
	changed := s.cache.info != nil && generation(s.cache.info) != generation(inf)
	s.cache.info, s.cache.infoAt = inf, s.now()
	if changed && s.started() {
		s.warm()
	}
	return inf, nil
}

// entities are the store's entity facts by ID, cached a minute.
func (s *Server) entities(ctx context.Context) (map[string]store.Entity, []store.Entity) {
	s.cache.Lock()
	defer s.cache.Unlock()
	if s.cache.ents != nil && s.now().Sub(s.cache.entsAt) < time.Minute {
		return s.cache.ents, s.cache.entsList
	}
	list, err := s.r.Entities(ctx)
	if err != nil {
		s.log.Warn("store: entities", "err", err)
		if s.cache.ents != nil {
			return s.cache.ents, s.cache.entsList
		}
		return map[string]store.Entity{}, nil
	}
	m := make(map[string]store.Entity, len(list))
	for _, e := range list {
		m[e.ID] = e
	}
	s.cache.ents, s.cache.entsList, s.cache.entsAt = m, list, s.now()
	return m, list
}
