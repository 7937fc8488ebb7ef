package alert

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	reg                            *prometheus.Registry
	raisedVec                      *prometheus.CounterVec
	byKind                         map[Kind]prometheus.Counter
	deduped, limited               prometheus.Counter
	dedupeEvicted                  prometheus.Gauge
	sent, failed, retries, dropped *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), byKind: map[Kind]prometheus.Counter{}}
	m.raisedVec = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_alert_raised_total", Help: "Alerts raised, by kind, before deduplication."}, []string{"kind"})
	for _, k := range []Kind{FirstContact, PastDeadline, GroupBlocked, Bypass} {
		m.byKind[k] = m.raisedVec.WithLabelValues(string(k))
	}
	m.deduped = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_alert_deduplicated_total", Help: "Alerts dropped as repeats within the dedupe period."})
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_alert_rate_limited_total", Help: "Alerts dropped by the rate limit."})
	m.dedupeEvicted = prometheus.NewGauge(prometheus.GaugeOpts{Name: "outflow_alert_dedupe_evicted", Help: "Keys forgotten before their period ended because max_keys was reached."})
	cv := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"sink"})
	}
	m.sent = cv("outflow_alert_sent_total", "Alerts delivered, by sink.")
	m.failed = cv("outflow_alert_failed_total", "Alerts given up on after the last attempt or a permanent error, by sink.")
	m.retries = cv("outflow_alert_retries_total", "Attempts retried after a failure, by sink.")
	m.dropped = cv("outflow_alert_dropped_total", "Alerts dropped because the sink's queue was full.")
	m.reg.MustRegister(m.raisedVec, m.deduped, m.limited, m.dedupeEvicted, m.sent, m.failed, m.retries, m.dropped)
	return m
}

// raised returns the counter of a kind; kinds outside the three share one
// series, so that a caller's typo cannot grow the label set.
func (m *metrics) raised(k Kind) prometheus.Counter {
	if c, ok := m.byKind[k]; ok {
		return c
	}
	return m.raisedVec.WithLabelValues("other")
}
