package follow

import "github.com/prometheus/client_golang/prometheus"

// metrics are the follower's series, in a registry of its own, labelled
// by configured path (a bounded set). Each path's series are resolved once.
type metrics struct {
	reg                                                   *prometheus.Registry
	lines, bytes, rotations, truncations, long, errs, rew *prometheus.CounterVec
	lag                                                   *prometheus.GaugeVec
}

type pathMetrics struct {
	lines, bytes, rotations, truncations, long, errs, retries prometheus.Counter
	lag                                                       prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	cv := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_follow_" + name, Help: help}, []string{"path"})
		m.reg.MustRegister(c)
		return c
	}
	m.lines = cv("lines_total", "Complete lines delivered to the handler.")
	m.bytes = cv("bytes_total", "Bytes read and delivered or skipped, newlines included.")
	m.rotations = cv("rotations_total", "Times the path was found to name a new file (rename and create, removal).")
	m.truncations = cv("truncations_total", "Times the file was found truncated or rewritten in place (copytruncate); reading restarted at 0.")
	m.long = cv("long_lines_skipped_total", "Lines longer than max_line, skipped.")
	m.errs = cv("read_errors_total", "Failed opens, stats and reads (other than the file not existing).")
	m.rew = cv("handler_errors_total", "Batches the handler refused; their lines are read again on the next poll.")
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "outflow_follow_unread_bytes", Help: "Bytes of the current file past the read position at the last poll."}, []string{"path"})
	m.reg.MustRegister(m.lag)
	return m
}

func (m *metrics) forPath(p string) *pathMetrics {
	return &pathMetrics{
		lines: m.lines.WithLabelValues(p), bytes: m.bytes.WithLabelValues(p),
		rotations: m.rotations.WithLabelValues(p), truncations: m.truncations.WithLabelValues(p),
		long: m.long.WithLabelValues(p), errs: m.errs.WithLabelValues(p), retries: m.rew.WithLabelValues(p),
		lag: m.lag.WithLabelValues(p),
	}
}
