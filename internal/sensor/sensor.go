// Package sensor is the core of `outflow sensor`: it takes flow records
// from any number of sources at once (live capture, the UDP flow
// collector, followed logs), attributes each one, sums them per device,
// peer, name, entity and hour as `scan --store` does, and writes the sums
// to the store every Config.Flush as one batch — one transaction — then
// starts the next interval afresh. Every record is a delta (an exported
// record, or a captured flow's growth since the last checkpoint), so a
// flow that lives across flushes is counted once, and a flushed delta is
// never written again; a kill -9 loses at most the unflushed interval,
// which outflow_sensor_pending_rows shows.
//
// It must never import a command, the web UI or a renderer.
package sensor

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
)

// Config is the sensor core's configuration.
type Config struct {
	// Flush is how often the sums go to the store.
	Flush time.Duration
	// Local are the inside networks: a record's inside end is the device.
	Local flowrec.Local
	// WriteTimeout bounds one store write (a flush at shutdown included).
	WriteTimeout time.Duration
	// MaxRows bounds the summed rows of one interval: past it they are
	// written early (and summed afresh), so memory stays bounded whatever
	// runs through. It should exceed the distinct flows of an interval:
	// an early write stores rows of a record or two each.
	MaxRows int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Flush: 10 * time.Second, Local: flowrec.DefaultLocal(), WriteTimeout: 4 * time.Second, MaxRows: 250_000}
}

// Deps are the sensor's dependencies.
type Deps struct {
	Log   *slog.Logger
	Store store.Writer
	// Attributor is the attribution in force; the command swaps it when
	// the catalog is reloaded (SIGHUP).
	Attributor *atomic.Pointer[attribute.Attributor]
	// Source names the rows' source in the store ("sensor").
	Source string
	// OnConcern, if set, is called with each record attributed to an
	// entity of concern (alerts). It must not keep f and must not block.
	OnConcern func(f *flowrec.Flow, res attribute.Result)
	// OnBypass, if set, is called at each flush with each way a device got
	// around the resolver in that interval (alerts), under the same lock
	// as OnConcern. It must not block.
	OnBypass func(site string, dev netip.Addr, e *bypass.Entry)
	// Vendor, if set, names a device's hardware maker from its MAC for
	// the device rows (the catalog's OUI entries); "" when unknown.
	Vendor func(mac net.HardwareAddr) string
}

// Checkpointer hands a source's in-progress growth to sink before a flush
// (a packet tracker's Checkpoint, under the tracker's lock).
type Checkpointer func(sink func(*flowrec.Flow))

// Sensor sums records between flushes.
type Sensor struct {
	cfg  Config
	deps Deps
	met  *metrics

	mu  sync.Mutex // guards cur and cps
	cur *interval
	cps []Checkpointer

	flushMu sync.Mutex // one write at a time, in order
	// pool: the rows of the interval being written go back to it as the
	// store reads them, for the next interval to fill
	pool    scanfeed.Pool
	started atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

// New returns an inert sensor.
func New(cfg Config, deps Deps) *Sensor {
	def := DefaultConfig()
	if cfg.Flush <= 0 {
		cfg.Flush = def.Flush
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	if cfg.Local == nil {
		cfg.Local = def.Local
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = def.MaxRows
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Source == "" {
		deps.Source = "sensor"
	}
	s := &Sensor{cfg: cfg, deps: deps, met: newMetrics(), stop: make(chan struct{}), done: make(chan struct{})}
	s.cur = s.newInterval()
	s.met.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_sensor_pending_rows",
		Help: "Summed rows not yet written: what a kill -9 now would lose."}, func() float64 { return float64(s.Pending()) }))
	return s
}

// interval is what one flush writes: the summed flows, the rows sources
// add as they are (queries from a followed query log) and what to run
// once they are stored.
type interval struct {
	feed    *scanfeed.Feed
	extra   store.Batch
	ents    map[string]bool
	written []func()
	bypass  *bypass.Finder
	devs    map[devKey]*devState
}

// devKey is a device as the store keys it: site and address.
type devKey struct {
	site string
	addr netip.Addr
}

// devState is what an interval learns of one device beyond its flows:
// its resolver bypasses and its MAC (a capture's records carry it).
type devState struct {
	win    bypass.Window
	mac    [6]byte
	hasMAC bool
	fdev   uint32 // the interval's feed's index of the device
}

// MaxDevices bounds the devices one interval follows for bypasses and
// MACs; more are counted (outflow_sensor_device_drops_total) and their
// flows still summed.
const MaxDevices = 100_000

func (s *Sensor) newInterval() *interval {
	// the feed's own writes (past Config.MaxRows rows) and ours use a
	// context that outlives the sensor's, so that the last flush at
	// shutdown still writes
	feed := scanfeed.New(context.WithoutCancel(context.Background()), s.deps.Store, s.deps.Source).WithPool(&s.pool)
	feed.MaxRows = s.cfg.MaxRows
	return &interval{feed: feed, ents: map[string]bool{}, bypass: bypass.New(s.deps.Attributor.Load()), devs: map[devKey]*devState{}}
}

func (iv *interval) pending() int {
	return iv.feed.Pending() + len(iv.extra.Queries) + len(iv.extra.Bypass) + len(iv.extra.Devices)
}

// Input is what a source given to Sensor.Add adds to the current
// interval. It is valid only during that call.
type Input struct{ s *Sensor }

// Flow takes one record (a delta), as Sensor.Flow; f is not kept.
func (in Input) Flow(f *flowrec.Flow) { in.s.flow(f) }

// Query takes one DNS query row (a followed query log), stored as it is.
func (in Input) Query(q store.Query) {
	in.s.cur.extra.Queries = append(in.s.cur.extra.Queries, q)
}

// Entity stores an entity's record with this interval (once per interval),
// for queries that name an entity no flow did.
func (in Input) Entity(e store.Entity) {
	iv := in.s.cur
	if e.ID == "" || iv.ents[e.ID] {
		return
	}
	iv.ents[e.ID] = true
	iv.extra.Entities = append(iv.extra.Entities, e)
}

// Add runs fn, which adds records and rows to the current interval, and
// calls written once the flush that holds them has been stored: a followed
// file commits its read offset there, so that a restart re-reads what was
// read but not stored, and never what was. written is not called when
// that flush fails (its sums are lost; a restart before the next good
// flush reads them again). Add is safe for concurrent use; fn must not
// block or call the sensor.
func (s *Sensor) Add(fn func(Input), written func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(Input{s})
	if written != nil {
		s.cur.written = append(s.cur.written, written)
	}
}

// Registry holds the sensor's series.
func (s *Sensor) Registry() *prometheus.Registry { return s.met.reg }

// AddCheckpointer registers a source whose flows live across flushes.
func (s *Sensor) AddCheckpointer(c Checkpointer) {
	s.mu.Lock()
	s.cps = append(s.cps, c)
	s.mu.Unlock()
}

// Flow takes one record (a delta). It is safe for concurrent use; f is
// not kept.
func (s *Sensor) Flow(f *flowrec.Flow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow(f)
}

func (s *Sensor) flow(f *flowrec.Flow) {
	f.Orient(s.cfg.Local.Contains)
	res := s.deps.Attributor.Load().Flow(f)
	s.met.flows.Inc()
	if res.Owner.Concern() {
		s.met.concern.Inc()
		if s.deps.OnConcern != nil {
			s.deps.OnConcern(f, res)
		}
	}
	iv := s.cur
	k := devKey{f.Site, f.Device}
	d := iv.devs[k]
	if d == nil {
		if len(iv.devs) >= MaxDevices {
			s.met.devDrops.Inc()
			iv.feed.Flow(f, res)
			return
		}
		d = &devState{fdev: iv.feed.Device(f.Site, f.Device)}
		iv.devs[k] = d
	}
	iv.feed.FlowOf(f, res, d.fdev)
	iv.bypass.Add(&d.win, f)
	if f.HasMAC {
		d.mac, d.hasMAC = f.DeviceMAC, true
	}
}

// close turns the interval's device states into rows of its batch and
// hands each bypass to OnBypass (under s.mu, as OnConcern).
func (s *Sensor) close(iv *interval) {
	type bypassOf struct {
		k devKey
		e bypass.Entry
	}
	var found []bypassOf
	for k, d := range iv.devs {
		id := flowrec.DeviceID(k.site, k.addr)
		if d.hasMAC {
			mac := net.HardwareAddr(d.mac[:])
			dv := store.Device{ID: id, MAC: mac.String()}
			if s.deps.Vendor != nil {
				dv.Vendor = s.deps.Vendor(mac)
			}
			iv.extra.Devices = append(iv.extra.Devices, dv)
		}
		if d.win.Dropped > 0 {
			s.met.bypassDrops.Add(float64(d.win.Dropped))
		}
		es := d.win.Entries()
		if len(es) == 0 {
			continue
		}
		iv.extra.Bypass = scanfeed.EntryRows(iv.extra.Bypass, id, es, s.deps.Source, time.Time{})
		s.met.bypasses.Add(float64(len(es)))
		for _, e := range es {
			found = append(found, bypassOf{k, e})
		}
	}
	if s.deps.OnBypass == nil || len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range found {
		s.deps.OnBypass(found[i].k.site, found[i].k.addr, &found[i].e)
	}
}

// Start flushes every Config.Flush until Close.
func (s *Sensor) Start(ctx context.Context) error {
	s.started.Store(true)
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Flush)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			case <-t.C:
				_ = s.Flush()
			}
		}
	}()
	return nil
}

// Flush checkpoints the sources, then writes what the interval summed as
// one batch. A failed write loses that interval's sums (counted and
// logged): writing them again later could not be told from new traffic.
func (s *Sensor) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	start := time.Now()
	// checkpointers take their source's lock, then Flow takes s.mu: the
	// order a source's own goroutine takes them in
	s.mu.Lock()
	cps := append([]Checkpointer(nil), s.cps...)
	s.mu.Unlock()
	for _, cp := range cps {
		cp(s.Flow)
	}
	s.mu.Lock()
	old := s.cur
	s.cur = s.newInterval()
	s.mu.Unlock()
	s.close(old)
	rows := old.pending()
	err := old.feed.FlushWith(&old.extra)
	s.met.flushDur.Observe(time.Since(start).Seconds())
	if err != nil {
		s.met.flushes.WithLabelValues("error").Inc()
		s.met.lostRows.Add(float64(rows))
		s.deps.Log.Error("sensor: store write failed; this interval's sums are lost", "rows", rows, "err", err)
		return err
	}
	s.met.flushes.WithLabelValues("ok").Inc()
	s.met.rows.Add(float64(rows))
	for _, w := range old.written {
		w()
	}
	return nil
}

// Pending is how many summed rows wait for the next flush.
func (s *Sensor) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.pending()
}

// Close stops the flush loop and flushes what is left. The sources must
// be closed first, so that nothing arrives after the last flush.
func (s *Sensor) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
		close(s.stop)
	}
	if s.started.Load() {
		select {
		case <-s.done:
		case <-time.After(s.cfg.WriteTimeout):
		}
	}
	return s.Flush()
}
