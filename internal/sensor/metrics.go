package sensor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	reg      *prometheus.Registry
	flows    prometheus.Counter
	concern  prometheus.Counter
	rows     prometheus.Counter
	lostRows prometheus.Counter
	flushes  *prometheus.CounterVec
	flushDur prometheus.Histogram

	bypasses    prometheus.Counter
	bypassDrops prometheus.Counter
	devDrops    prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.flows = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_records_total", Help: "Flow records (deltas) taken from every source."})
	m.concern = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_concern_records_total", Help: "Records attributed to an entity of concern."})
	m.rows = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_rows_written_total", Help: "Summed rows written to the store."})
	m.lostRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_rows_lost_total", Help: "Summed rows lost to failed store writes."})
	m.flushes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_sensor_flushes_total", Help: "Flushes to the store, by result."}, []string{"result"})
	m.flushDur = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "outflow_sensor_flush_duration_seconds", Help: "Time to checkpoint and write one flush.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}})
	m.bypasses = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_bypasses_total",
		Help: "Resolver bypasses found (one per device, kind and peer in a flush interval)."})
	m.bypassDrops = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_bypass_drops_total",
		Help: "Bypass flows not kept: a device passed the bound on bypass entries in one interval."})
	m.devDrops = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_device_drops_total",
		Help: "Records whose device was not followed for bypasses and MACs: the interval passed its bound on devices."})
	m.reg.MustRegister(m.flows, m.concern, m.rows, m.lostRows, m.flushes, m.flushDur, m.bypasses, m.bypassDrops, m.devDrops)
	return m
}
