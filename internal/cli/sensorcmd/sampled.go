package sensorcmd

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/ingest/sflow"
	"github.com/outflow-dev/outflow/internal/sensor"
)

// maxSampledSites bounds the packet trackers sFlow creates (one per site,
// each bounded by its flow table): a site past it is dropped and counted.
const maxSampledSites = 256

// sampled feeds sFlow's sampled packet headers to one packet tracker per
// site, as a live capture feeds its own: the same decode, names and
// attribution, each packet counted as Rate packets of FrameLen bytes.
type sampled struct {
	fcfg  flow.Config
	sen   *sensor.Sensor
	mu    sync.Mutex
	sites map[string]*flow.Tracker
	reg   *prometheus.Registry
	drops prometheus.Counter
}

func newSampled(fcfg flow.Config, sen *sensor.Sensor) *sampled {
	s := &sampled{fcfg: fcfg, sen: sen, sites: map[string]*flow.Tracker{}, reg: prometheus.NewRegistry()}
	s.drops = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_sflow_site_drops_total",
		Help: "sFlow sampled headers dropped: their site would pass the bound on sFlow packet trackers."})
	s.reg.MustRegister(s.drops, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_sensor_sflow_sites",
		Help: "Sites with an sFlow packet tracker."}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.sites))
	}))
	sen.AddCheckpointer(func(sink func(*flowrec.Flow)) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for site, tr := range s.sites {
			tr.Checkpoint(func(f *flowrec.Flow) {
				f.Site, f.NoDNS = site, true
				sink(f)
			})
		}
	})
	return s
}

// Packet is the collector's Deps.Packet.
func (s *sampled) Packet(smp *sflow.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr := s.sites[smp.Site]
	if tr == nil {
		if len(s.sites) >= maxSampledSites {
			s.drops.Inc()
			return
		}
		site := smp.Site
		tr = flow.New(s.fcfg, func(f *flowrec.Flow) {
			f.Site, f.NoDNS = site, true // one packet in Rate: answers are mostly unseen
			s.sen.Flow(f)
		})
		s.sites[site] = tr
	}
	tr.PacketN(smp.Packet, smp.FrameLen, smp.Rate, smp.At)
}

// Close hands the trackers' remaining flows to the sensor; the collector
// must be closed first.
func (s *sampled) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range s.sites {
		tr.Flush()
	}
}
