// Package followsrc is the sensor's source of files that grow: Zeek logs
// (TSV or JSON), Suricata's eve.json and outflow's own resolver query log,
// read through internal/follow across rotation. Conversations become flow
// records, DNS answers name them, query-log lines become query rows; all
// go into the sensor's current interval, and a file's read offset is
// committed only once the flush that holds its lines has been stored, so
// a restart neither skips nor double-counts a line.
//
// It must never import a command, the web UI or a renderer.
package followsrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/follow"
	"github.com/outflow-dev/outflow/internal/ingest"
	"github.com/outflow-dev/outflow/internal/ingest/eve"
	"github.com/outflow-dev/outflow/internal/ingest/zeek"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/sensor"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/querylogsink"
)

// Kinds of followed file. An empty kind is told from the file's first
// line (or its Zeek header) each time a new file starts at the path.
const (
	Zeek     = "zeek"
	EVE      = "eve"
	QueryLog = "querylog"
)

// File is one path to follow.
type File struct {
	Path string
	Kind string // Zeek, EVE, QueryLog, or "" to tell from the content
	Site string // the site of the devices it names; "" for none
}

// ParseFile reads a --follow value: [KIND:]PATH.
func ParseFile(v, site string) (File, error) {
	f := File{Path: v, Site: site}
	if k, p, ok := strings.Cut(v, ":"); ok {
		switch k {
		case Zeek, EVE, QueryLog:
			f.Kind, f.Path = k, p
		}
	}
	if f.Path == "" {
		return f, fmt.Errorf("follow %q: no path", v)
	}
	return f, nil
}

// Config configures the source.
type Config struct {
	Files []File
	// Follow is the follower's configuration; its Files are set from Files.
	Follow follow.Config
	// Local are the inside networks (the device end of a conversation).
	Local flowrec.Local
	// MaxDNS bounds the DNS answers remembered per site.
	MaxDNS int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Follow: follow.DefaultConfig(), Local: flowrec.DefaultLocal(), MaxDNS: 100_000}
}

// Deps are the source's dependencies.
type Deps struct {
	Log    *slog.Logger
	Sensor *sensor.Sensor
	// Entity, if set, describes an entity a query names, so that the
	// store knows it even when no flow went there.
	Entity func(id string) (store.Entity, bool)
	// Offsets keeps the read offsets; nil: offsets.json in Follow.StateDir.
	Offsets follow.Offsets
}

// Source follows the configured files into the sensor. New does no I/O.
type Source struct {
	cfg   Config
	deps  Deps
	fl    *follow.Follower
	paths map[string]*path
	zeek  *zeek.Reader
	dns   map[string]*flow.Tracker // per site: the DNS memory of log sources
	reg   *prometheus.Registry
	bad   *prometheus.CounterVec
	lines *prometheus.CounterVec
	qs    prometheus.Counter

	logMu   sync.Mutex
	lastLog map[string]time.Time
	held    map[string]int
}

// path is one configured path's parsing state; only the follower's
// goroutine touches it.
type path struct {
	File
	kind   string // the configured or detected kind
	stream *zeek.Stream
	eve    *eve.Reader
	dns    *flow.Tracker
	in     sensor.Input // during Sensor.Add
	src    *Source
	badFn  func(error)
}

// New returns an inert source.
func New(cfg Config, deps Deps) (*Source, error) {
	if deps.Sensor == nil {
		return nil, errors.New("followsrc: no sensor")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Local == nil {
		cfg.Local = flowrec.DefaultLocal()
	}
	if cfg.MaxDNS <= 0 {
		cfg.MaxDNS = DefaultConfig().MaxDNS
	}
	s := &Source{cfg: cfg, deps: deps, paths: map[string]*path{}, zeek: zeek.New(), dns: map[string]*flow.Tracker{},
		reg: prometheus.NewRegistry(), lastLog: map[string]time.Time{}, held: map[string]int{}}
	s.bad = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_follow_bad_lines_total",
		Help: "Lines of a followed file that did not parse, by configured path."}, []string{"path"})
	s.lines = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_follow_handled_lines_total",
		Help: "Lines of a followed file handed to the sensor, by configured path."}, []string{"path"})
	s.qs = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_follow_queries_total", Help: "Query-log lines stored as queries."})
	s.reg.MustRegister(s.bad, s.lines, s.qs)
	fcfg := cfg.Follow
	fcfg.Files = nil
	for _, f := range cfg.Files {
		switch f.Kind {
		case "", Zeek, EVE, QueryLog:
		default:
			return nil, fmt.Errorf("followsrc: %s: kind %q: want zeek, eve or querylog", f.Path, f.Kind)
		}
		clean := filepath.Clean(f.Path)
		header := ""
		if f.Kind == "" || f.Kind == Zeek {
			header = "#" // JSON lines never start with it, so it is harmless for them
		}
		fcfg.Files = append(fcfg.Files, follow.File{Path: f.Path, Header: header})
		p := &path{File: f, kind: f.Kind, src: s}
		p.badFn = p.badLine
		if s.dns[f.Site] == nil {
			tc := flow.DefaultConfig()
			tc.Local, tc.MaxFlows, tc.MaxDNS = cfg.Local, 1, cfg.MaxDNS
			s.dns[f.Site] = flow.New(tc, func(*flowrec.Flow) {})
		}
		p.dns = s.dns[f.Site]
		s.paths[clean] = p
	}
	fl, err := follow.New(fcfg, follow.Deps{Log: deps.Log, Handler: s.handle, Offsets: deps.Offsets})
	if err != nil {
		return nil, err
	}
	s.fl = fl
	return s, nil
}

// Registry holds the source's and the follower's series.
func (s *Source) Registry() prometheus.Gatherers {
	return prometheus.Gatherers{s.reg, s.fl.Registry()}
}

// Start makes the state directory if needed, reads the saved offsets and
// starts following.
func (s *Source) Start(ctx context.Context) error {
	if s.deps.Offsets == nil && s.cfg.Follow.StateDir != "" {
		if err := os.MkdirAll(s.cfg.Follow.StateDir, 0o700); err != nil {
			return fmt.Errorf("followsrc: state directory: %w", err)
		}
	}
	return s.fl.Start(ctx)
}

// Stop stops reading and saves the offsets committed so far. Call it
// before the sensor's last flush, then Close after it.
func (s *Source) Stop() error { return s.fl.Close() }

// Close saves the offsets the sensor's last flush committed. (The
// follower's Close may run twice: the second only saves again.)
func (s *Source) Close() error { return s.fl.Close() }

// States are the committed offsets (for tests and status).
func (s *Source) States() []follow.State { return s.fl.States() }

func (s *Source) handle(_ context.Context, b *follow.Batch) error {
	p := s.paths[b.Path]
	if p == nil {
		return fmt.Errorf("followsrc: %s: not configured", b.Path)
	}
	if b.New {
		p.stream, p.eve = nil, nil
		if p.File.Kind == "" {
			p.kind = ""
		}
	}
	if p.kind == "" {
		p.kind = detect(b)
	}
	cur := b.Cursor
	s.deps.Sensor.Add(func(in sensor.Input) {
		p.in = in
		defer func() { p.in = sensor.Input{} }()
		switch p.kind {
		case Zeek:
			if p.stream == nil {
				p.stream = s.zeek.Stream(b.Path)
				for _, h := range b.Header {
					p.stream.Line(h, 0, p, p.badFn)
				}
			}
			for i, l := range b.Lines {
				p.stream.Line(l, b.Offsets[i], p, p.badFn)
			}
		case EVE:
			if p.eve == nil {
				p.eve = eve.New()
			}
			for i, l := range b.Lines {
				p.eve.Line(b.Path, l, b.Offsets[i], p, p.badFn)
			}
		case QueryLog:
			for i, l := range b.Lines {
				p.query(l, b.Offsets[i])
			}
		default:
			for i, l := range b.Lines {
				if len(l) > 0 {
					p.badLine(&ingest.LineError{File: b.Path, Offset: b.Offsets[i], Err: errors.New("not a Zeek, EVE or query-log line")})
				}
			}
		}
	}, func() { s.fl.Commit(cur) })
	s.lines.WithLabelValues(b.Path).Add(float64(len(b.Lines)))
	return nil
}

// detect tells a file's kind from its header or first non-empty line.
func detect(b *follow.Batch) string {
	if len(b.Header) > 0 {
		return Zeek
	}
	for _, l := range b.Lines {
		if len(l) == 0 {
			continue
		}
		switch {
		case zeek.Sniff(l):
			return Zeek
		case eve.Sniff(l):
			return EVE
		case strings.HasPrefix(string(l), `{"time":`):
			return QueryLog
		}
		return ""
	}
	return ""
}

// Flow is ingest.Sink: a logged conversation into the sensor, named by
// the DNS answers the same site's logs reported.
func (p *path) Flow(r ingest.Flow) {
	f := r.Record()
	f.Site = p.Site
	f.Orient(p.src.cfg.Local.Contains)
	f.DNSName, f.DNSQuery = p.dns.DNSName(f.Device, f.Peer, r.Start)
	// no answers at this site yet: a missing name is no evidence of a
	// hard-coded address
	f.NoDNS = p.dns.Stats.DNSAnswers == 0
	p.in.Flow(&f)
}

// DNS is ingest.Sink: an answer remembered to name later conversations.
func (p *path) DNS(d ingest.DNS) {
	p.dns.LearnDNS(d.Client, d.Addr, d.Name, d.Query, d.TTL, d.At)
}

func (p *path) query(l []byte, off int64) {
	if len(l) == 0 {
		return
	}
	rec, err := querylog.ParseRecord(l)
	if err != nil {
		p.badLine(&ingest.LineError{File: p.Path, Offset: off, Err: err})
		return
	}
	q, ok, err := querylogsink.FromRecord(&rec)
	if err != nil {
		p.badLine(&ingest.LineError{File: p.Path, Offset: off, Err: err})
		return
	}
	if !ok {
		return
	}
	if p.Site != "" {
		if a, err := netip.ParseAddr(q.Client); err == nil {
			q.Client = flowrec.DeviceID(p.Site, a.Unmap())
		}
	}
	p.in.Query(q)
	p.src.qs.Inc()
	if q.Entity != "" && p.src.deps.Entity != nil {
		if e, ok := p.src.deps.Entity(q.Entity); ok {
			p.in.Entity(e)
		}
	}
}

// badLine counts a bad line and logs it at most once a minute per path.
func (p *path) badLine(err error) {
	s := p.src
	s.bad.WithLabelValues(p.Path).Inc()
	s.logMu.Lock()
	now := time.Now()
	if now.Sub(s.lastLog[p.Path]) < time.Minute {
		s.held[p.Path]++
		s.logMu.Unlock()
		return
	}
	held := s.held[p.Path]
	s.lastLog[p.Path], s.held[p.Path] = now, 0
	s.logMu.Unlock()
	s.deps.Log.Warn("follow: bad line", "err", err, "held_back", held)
}
