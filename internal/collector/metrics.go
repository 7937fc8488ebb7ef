package collector

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/ingest/netflow"
	"github.com/outflow-dev/outflow/internal/ingest/sflow"
)

// metrics are the collector's series. Per-exporter counters are read from
// the decoder at scrape time, so decoding counts nothing twice and a
// record costs no metric update.
type metrics struct {
	reg        *prometheus.Registry
	readErrors prometheus.Counter
	sflow      prometheus.Counter
}

type exporterCollector struct{ c *Collector }

var (
	descDatagrams = prometheus.NewDesc("outflow_collector_datagrams_total", "Export datagrams received, per exporter.", []string{"exporter"}, nil)
	descRecords   = prometheus.NewDesc("outflow_collector_records_total", "Flow records decoded, per exporter.", []string{"exporter"}, nil)
	descOptions   = prometheus.NewDesc("outflow_collector_options_records_total", "Options records read (sampling rates), per exporter.", []string{"exporter"}, nil)
	descErrors    = prometheus.NewDesc("outflow_collector_decode_errors_total", "Datagrams that did not decode, whole or in part, per exporter.", []string{"exporter"}, nil)
	descMisses    = prometheus.NewDesc("outflow_collector_template_misses_total", "Data sets that arrived before their template, per exporter.", []string{"exporter"}, nil)
	descLate      = prometheus.NewDesc("outflow_collector_late_sets_total", "Held data sets decoded when their template came, per exporter.", []string{"exporter"}, nil)
	descDrops     = prometheus.NewDesc("outflow_collector_drops_total", "Data or templates dropped, per exporter and reason.", []string{"exporter", "reason"}, nil)
	descFuture    = prometheus.NewDesc("outflow_collector_future_records_total", "Records dated after their export, clamped to the export time.", []string{"exporter"}, nil)
	descWithdrawn = prometheus.NewDesc("outflow_collector_template_withdrawals_total", "Template withdrawals, per exporter.", []string{"exporter"}, nil)
	descSDatagram = prometheus.NewDesc("outflow_collector_sflow_datagrams_total", "sFlow v5 datagrams received, per exporter.", []string{"exporter"}, nil)
	descSSamples  = prometheus.NewDesc("outflow_collector_sflow_samples_total", "sFlow samples, per exporter and kind (flow, counter: ignored, other: ignored).", []string{"exporter", "kind"}, nil)
	descSHeaders  = prometheus.NewDesc("outflow_collector_sflow_headers_total", "sFlow sampled packet headers, per exporter and result (decoded: fed to the tracker, not-ip).", []string{"exporter", "result"}, nil)
	descSErrors   = prometheus.NewDesc("outflow_collector_sflow_decode_errors_total", "sFlow datagrams that did not decode, whole or in part, per exporter.", []string{"exporter"}, nil)
	descHeld      = prometheus.NewDesc("outflow_collector_held_sets", "Data sets waiting for their template.", nil, nil)
)

func (e exporterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatagrams, descRecords, descOptions, descErrors, descMisses, descLate, descDrops, descFuture, descWithdrawn, descHeld,
		descSDatagram, descSSamples, descSHeaders, descSErrors} {
		ch <- d
	}
}

func (e exporterCollector) Collect(ch chan<- prometheus.Metric) {
	e.c.dec.Each(func(a netip.AddrPort, s netflow.Stats) {
		ex := a.String()
		c := func(d *prometheus.Desc, v uint64, l ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{ex}, l...)...)
		}
		c(descDatagrams, s.Datagrams)
		c(descRecords, s.Records)
		c(descOptions, s.Options)
		c(descErrors, s.Errors)
		c(descMisses, s.NoTemplate)
		c(descLate, s.Late)
		c(descDrops, s.Dropped, "no-template")
		c(descDrops, s.Refused, "template-refused")
		c(descFuture, s.Future)
		c(descWithdrawn, s.Withdrawn)
	})
	e.c.sfl.Each(func(a netip.AddrPort, s sflow.Stats) {
		ex := a.String()
		c := func(d *prometheus.Desc, v uint64, l ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{ex}, l...)...)
		}
		c(descSDatagram, s.Datagrams)
		c(descSSamples, s.Samples, "flow")
		c(descSSamples, s.Counters, "counter")
		c(descSSamples, s.Other, "other")
		c(descSHeaders, s.Headers, "decoded")
		c(descSHeaders, s.NotIP, "not-ip")
		c(descSErrors, s.Errors)
	})
	ch <- prometheus.MustNewConstMetric(descHeld, prometheus.GaugeValue, float64(e.c.dec.Held()))
}

func newMetrics(c *Collector) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.readErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_collector_read_errors_total", Help: "Socket read errors."})
	m.sflow = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_collector_sflow_dropped_total", Help: "sFlow v5 datagrams received and dropped: no packet tracker to feed."})
	m.reg.MustRegister(m.readErrors, m.sflow, exporterCollector{c})
	return m
}
