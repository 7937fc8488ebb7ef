package resolver

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/outflow-dev/outflow/internal/resolver/upstream"
)

// metrics are the resolver's Prometheus series, in a registry of its own.
// Series used per query are resolved once, so counting does not allocate.
type metrics struct {
	reg *prometheus.Registry

	queries                           *prometheus.CounterVec
	byProto                           map[string]prometheus.Counter
	verdicts                          *prometheus.CounterVec
	cache                             *prometheus.CounterVec
	hit, miss                         prometheus.Counter
	stale                             prometheus.Counter
	prefetch                          prometheus.Counter
	upDur                             *prometheus.HistogramVec
	upErr                             *prometheus.CounterVec
	limited                           prometheus.Counter
	malformed                         prometheus.Counter
	overload                          prometheus.Counter
	failClosed                        prometheus.Counter
	truncated                         prometheus.Counter
	reloads                           *prometheus.CounterVec
	tcpRefused                        *prometheus.CounterVec
	tcpRefusedLimit, tcpRefusedClient prometheus.Counter
	reloadOK                          prometheus.Counter
	reloadFailed                      prometheus.Counter
	reloadRefused                     prometheus.Gauge
	generation                        prometheus.Gauge
	latency                           prometheus.Histogram
	verdictMu                         sync.RWMutex
	verdictByID                       map[verdictKey]prometheus.Counter
}

type verdictKey struct{ verdict, entity, group string }

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), verdictByID: map[verdictKey]prometheus.Counter{}}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.queries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_queries_total", Help: "Queries received, by protocol."}, []string{"proto"})
	m.byProto = map[string]prometheus.Counter{}
	for _, p := range []string{"udp", "tcp", "dot", "doh"} {
		m.byProto[p] = m.queries.WithLabelValues(p)
	}
	m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_verdicts_total", Help: "Queries that matched a rule, by verdict, entity and client group."}, []string{"verdict", "entity", "group"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_cache_total", Help: "Cache lookups by result."}, []string{"result"})
	m.hit, m.miss, m.stale, m.prefetch = m.cache.WithLabelValues("hit"), m.cache.WithLabelValues("miss"), m.cache.WithLabelValues("stale"), m.cache.WithLabelValues("prefetch")
	m.upDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "outflow_resolver_upstream_duration_seconds", Help: "Upstream exchange time.",
		Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5}}, []string{"upstream"})
	m.upErr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_upstream_errors_total", Help: "Failed upstream exchanges."}, []string{"upstream"})
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_resolver_rate_limited_total", Help: "Queries refused by the per-client rate limit."})
	m.malformed = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_resolver_malformed_total", Help: "Packets that are not a query this resolver answers."})
	m.overload = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_resolver_overload_total", Help: "Cache misses answered SERVFAIL because too many were waiting for upstreams."})
	m.failClosed = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_resolver_upstream_unavailable_total", Help: "Queries answered SERVFAIL because no upstream answered and nothing was cached."})
	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_resolver_truncated_total", Help: "UDP answers truncated to the client's EDNS size."})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_reloads_total", Help: "Policy and catalog reloads, by result."}, []string{"result"})
	// Both results exist from the start, so that an alert on failures
	// has a series to watch before the first one.
	m.reloadOK, m.reloadFailed = m.reloads.WithLabelValues("ok"), m.reloads.WithLabelValues("failed")
	m.reloadRefused = prometheus.NewGauge(prometheus.GaugeOpts{Name: "outflow_resolver_reload_refused", Help: "1 while the last reload was refused (the files on disk are not the policy in force), else 0."})
	m.tcpRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_tcp_refused_total", Help: "TCP and DoT connections closed at accept: limit (max_tcp open in all) or client (max_tcp_per_client from its address)."}, []string{"reason"})
	m.tcpRefusedLimit, m.tcpRefusedClient = m.tcpRefused.WithLabelValues("limit"), m.tcpRefused.WithLabelValues("client")
	m.generation = prometheus.NewGauge(prometheus.GaugeOpts{Name: "outflow_resolver_policy_generation", Help: "Number of the policy and catalog in force (1 at start, +1 a reload)."})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "outflow_resolver_answer_duration_seconds", Help: "Time from query to answer.",
		Buckets: []float64{.00005, .0001, .0002, .0005, .001, .002, .005, .01, .02, .05, .1, .5, 1, 2}})
	for _, c := range []prometheus.Collector{m.queries, m.verdicts, m.cache, m.upDur, m.upErr, m.limited, m.malformed, m.overload, m.failClosed, m.truncated, m.reloads, m.reloadRefused, m.tcpRefused, m.generation, m.latency} {
		f(c)
	}
	f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "outflow_resolver_querylog_shed_total", Help: "Query log entries shed under overload (each shed is also written into the log as a count)."},
		func() float64 { return float64(s.qlog.Counters().Shed) }))
	f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "outflow_resolver_querylog_written_total", Help: "Query log entries written."},
		func() float64 { return float64(s.qlog.Counters().Written) }))
	f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "outflow_resolver_querylog_failed_total", Help: "Query log entries a sink failed to store."},
		func() float64 { return float64(s.qlog.Counters().Failed) }))
	if udpDropsSupported {
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "outflow_resolver_udp_receive_drops_total", Help: "Datagrams the kernel dropped on the resolver's UDP sockets, mostly with a full receive buffer: queries never read (Linux, from /proc/net/udp)."},
			func() float64 { n, _ := s.drops.total(); return float64(n) }))
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_tcp_connections", Help: "TCP and DoT connections open."},
		func() float64 { n, _ := s.streams.counts(); return float64(n) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_tcp_idle_timeout_seconds", Help: "Idle timeout of TCP and DoT connections now: listen.tcp_idle, shorter as the connection table fills."},
		func() float64 { _, d := s.streams.counts(); return d.Seconds() }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_cache_entries", Help: "Answers in the cache."},
		func() float64 { return float64(s.cache.Len()) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_blocked_names", Help: "Names listed by the policy's rules."},
		func() float64 { return float64(s.state.Load().pol.NameCount()) }))
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) registerUpstreams(p *upstream.Pool) {
	for _, u := range p.Upstreams() {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_upstream_healthy", Help: "1 while the upstream is in use.",
			ConstLabels: prometheus.Labels{"upstream": u.Name}}, func() float64 {
			if u.Healthy() {
				return 1
			}
			return 0
		}))
	}
}

// verdict counts a match. The series is looked up in a map of its own so
// that the blocked path does not allocate label slices.
func (m *metrics) verdict(verdict, entity, group string) {
	m.verdictCounter(verdict, entity, group).Inc()
}

// verdictCounter is the series of verdict, entity and group.
func (m *metrics) verdictCounter(verdict, entity, group string) prometheus.Counter {
	k := verdictKey{verdict, entity, group}
	m.verdictMu.RLock()
	c := m.verdictByID[k]
	m.verdictMu.RUnlock()
	if c == nil {
		c = m.verdicts.WithLabelValues(verdict, entity, group)
		m.verdictMu.Lock()
		m.verdictByID[k] = c
		m.verdictMu.Unlock()
	}
	return c
}
