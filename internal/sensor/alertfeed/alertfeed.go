// Package alertfeed decides which of the sensor's records become alerts
// and keeps the alerts in the store. Detector is the sensor's OnConcern
// hook: the first record from a device (site and address) to an entity of
// concern is a first contact; a record the policy blocks is past its
// deadline when the rule has one and the record is after it, and blocked
// for the device's group otherwise; a device's resolver bypass in a flush
// interval (Bypass) is an alert of its own. What it raises goes to an
// alert.Notifier, which deduplicates, rate limits and delivers; StoreSink
// is one of the notifier's sinks, writing to a store that keeps alerts.
//
// It joins the sensor to internal/alert, the policy and the store; it
// must never import a command, the web UI or a renderer.
package alertfeed

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/alert"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
)

// Config configures the Detector.
type Config struct {
	// MaxPairs bounds the device-entity pairs remembered for first
	// contacts and the keys for recent alerts. When full, the set starts
	// again (counted): a pair may then alert again, which the notifier's
	// own deduplication usually absorbs.
	MaxPairs int
	// Again is how soon the same device, entity, kind and rule may be
	// raised again; the notifier's dedupe period is the real limit, this
	// only spares it (and the hot path) repeats.
	Again time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxPairs: 200_000, Again: time.Hour} }

// Deps are the Detector's dependencies.
type Deps struct {
	// Raise offers an alert (alert.Notifier.Raise); it must not block.
	Raise func(alert.Alert) bool
	// Policy is the policy in force, or nil inside for none (only first
	// contacts then); the command swaps it on SIGHUP.
	Policy *atomic.Pointer[policy.Policy]
}

type pairKey struct {
	site   string
	dev    netip.Addr
	entity string
}

type raisedKey struct {
	pairKey
	kind alert.Kind
	rule string
}

// Detector turns concern records into alerts. Concern is called under the
// sensor's lock, so the Detector needs none of its own.
type Detector struct {
	cfg    Config
	deps   Deps
	pairs  map[pairKey]struct{}
	raised map[raisedKey]int64 // unix ns of the last raise
	reg    *prometheus.Registry
	kinds  *prometheus.CounterVec
	resets prometheus.Counter
}

// New returns a detector; it does no I/O.
func New(cfg Config, deps Deps) *Detector {
	def := DefaultConfig()
	if cfg.MaxPairs <= 0 {
		cfg.MaxPairs = def.MaxPairs
	}
	if cfg.Again <= 0 {
		cfg.Again = def.Again
	}
	d := &Detector{cfg: cfg, deps: deps, pairs: map[pairKey]struct{}{}, raised: map[raisedKey]int64{}, reg: prometheus.NewRegistry()}
	d.kinds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_sensor_alerts_detected_total",
		Help: "Alerts the sensor detected and offered to the notifier, by kind."}, []string{"kind"})
	d.resets = prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_sensor_alert_memory_resets_total",
		Help: "Times the first-contact or recent-alert memory was full and started again."})
	d.reg.MustRegister(d.kinds, d.resets)
	return d
}

// Registry holds the detector's series.
func (d *Detector) Registry() *prometheus.Registry { return d.reg }

// Concern is sensor.Deps.OnConcern: f is oriented (Device inside) and
// attributed to an entity of concern.
func (d *Detector) Concern(f *flowrec.Flow, res attribute.Result) {
	o := res.Owner
	if o.Entity == nil {
		return
	}
	pk := pairKey{site: f.Site, dev: f.Device, entity: o.Entity.ID}
	at := f.Last
	if at == 0 {
		at = f.First
	}
	if _, ok := d.pairs[pk]; !ok {
		if len(d.pairs) >= d.cfg.MaxPairs {
			clear(d.pairs)
			d.resets.Inc()
		}
		d.pairs[pk] = struct{}{}
		d.raise(pk, alert.FirstContact, "", time.Time{}, f, o, at)
	}
	p := (*policy.Policy)(nil)
	if d.deps.Policy != nil {
		p = d.deps.Policy.Load()
	}
	if p == nil {
		return
	}
	t := time.Unix(0, at)
	v := p.Decide(policy.Client{Addr: f.Device}, o, f.Name(), t)
	if v.Action != policy.Block || v.Rule == nil {
		return
	}
	if !v.Deadline.IsZero() && !t.Before(v.Deadline) {
		d.raise(pk, alert.PastDeadline, v.Rule.ID, v.Deadline, f, o, at)
		return
	}
	d.raise(pk, alert.GroupBlocked, v.Rule.ID, time.Time{}, f, o, at)
}

// Bypass is sensor.Deps.OnBypass: a device got around the resolver in a
// flush interval. One alert per device, kind and peer per Config.Again.
func (d *Detector) Bypass(site string, dev netip.Addr, e *bypass.Entry) {
	at, _ := time.Parse(time.RFC3339Nano, e.LastSeen)
	if at.IsZero() {
		at = time.Now()
	}
	rk := raisedKey{pairKey{site: site, dev: dev, entity: e.Owner}, alert.Bypass, string(e.Kind) + " " + e.Peer}
	if !d.due(rk, at.UnixNano()) {
		return
	}
	a := alert.Alert{Time: at.UTC(), Kind: alert.Bypass, Site: site, Device: dev, Entity: e.Owner, EntityName: e.OwnerName,
		Rule: rk.rule + ":" + strconv.Itoa(int(e.Port)) + "/" + e.Proto, Bytes: e.BytesOut + e.BytesIn}
	for _, ev := range e.Evidence {
		if len(a.Evidence) == 2 {
			break
		}
		a.Evidence = append(a.Evidence, alert.Evidence{Kind: ev.Kind, Value: ev.Value})
	}
	d.kinds.WithLabelValues(string(alert.Bypass)).Inc()
	if d.deps.Raise != nil {
		d.deps.Raise(a)
	}
}

// due reports whether rk may be raised at (unix ns): not raised within
// Config.Again before it. If so, it is remembered as raised then.
func (d *Detector) due(rk raisedKey, at int64) bool {
	if last, ok := d.raised[rk]; ok && at-last < int64(d.cfg.Again) && at >= last {
		return false
	}
	if len(d.raised) >= d.cfg.MaxPairs {
		clear(d.raised)
		d.resets.Inc()
	}
	d.raised[rk] = at
	return true
}

func (d *Detector) raise(pk pairKey, kind alert.Kind, rule string, deadline time.Time, f *flowrec.Flow, o attribute.Attribution, at int64) {
	// a first contact is remembered in pairs already (and deduplicated
	// again by the notifier): a second entry per pair in raised would
	// double the detector's memory at 200,000 pairs
	if kind != alert.FirstContact && !d.due(raisedKey{pk, kind, rule}, at) {
		return
	}
	a := alert.Alert{Time: time.Unix(0, at).UTC(), Kind: kind, Site: f.Site, Device: f.Device, Entity: o.Entity.ID, EntityName: o.Entity.Name,
		Rule: rule, Deadline: deadline, Bytes: f.BytesOut + f.BytesIn}
	if owner := o.Owner(); owner != nil {
		a.Jurisdiction = owner.Jurisdiction
	}
	if o.Value != "" {
		a.Evidence = []alert.Evidence{{Kind: o.Kind.String(), Value: o.Value}}
	}
	d.kinds.WithLabelValues(string(kind)).Inc()
	if d.deps.Raise != nil {
		d.deps.Raise(a)
	}
}
