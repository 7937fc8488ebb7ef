// Package scanfeed turns what a scan sees into store rows: finished flows,
// summed per device, peer, name, entity and hour with their evidence
// (through scan's OnFlow hook), then the devices and entities of the
// report. It also converts a scan's JSON report, which has no hours, into
// rows for `outflow report --from-scan`.
//
// It joins the scan pipeline to the store; it must never import a command
// or a renderer.
package scanfeed

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/entityrec"
)

// FlushRows is how many summed rows a feed holds by default before it
// writes them (Feed.MaxRows).
const FlushRows = 100_000

type key struct {
	site      string
	dev, peer netip.Addr
	port      uint16
	proto     uint8
	name      string
	entity    *catalog.Entity
	role      catalog.Role
	hour      int64
}

// sum is one row as the feed holds it: the key's facts are built into a
// store.Flow only as the writer takes it (store.Batch.More), so that a
// feed of many rows holds each once, compactly.
type sum struct {
	first, last int64
	t           store.Traffic
	host        *catalog.Entity
	ev          *store.Evidence // the owner's evidence, for concern rows found by a catalog asset
}

// Feed sums flows and writes them to a store in batches. It is not safe
// for concurrent use (a scan calls OnFlow from one goroutine).
type Feed struct {
	// MaxRows is how many summed rows the feed holds before it writes
	// them early (FlushRows unless set). A row written early and summed
	// again is written again: rows add up in the store.
	MaxRows int

	ctx    context.Context
	w      store.Writer
	source string
	rows   map[key]int32 // index in sums
	sums   []sum
	ents   map[string]store.Entity
	err    error
	n      int
}

// New returns a feed writing to w; source names the input in the rows.
func New(ctx context.Context, w store.Writer, source string) *Feed {
	return &Feed{MaxRows: FlushRows, ctx: ctx, w: w, source: source, rows: map[key]int32{}, ents: map[string]store.Entity{}}
}

// Flow takes one finished flow and its attribution (scan.Config.OnFlow).
func (f *Feed) Flow(fl *flowrec.Flow, res attribute.Result) {
	if f.err != nil {
		return
	}
	o := res.Owner
	if !o.Concern() {
		o = attribute.Attribution{}
	}
	k := key{site: fl.Site, dev: fl.Device, peer: fl.Peer, port: fl.PeerPort, proto: fl.Proto, name: fl.Name(), entity: o.Entity, role: o.Role,
		hour: fl.First / int64(time.Hour)}
	i, ok := f.rows[k]
	if !ok {
		i = int32(len(f.sums))
		f.rows[k] = i
		f.sums = append(f.sums, sum{first: fl.First, last: fl.Last})
		r := &f.sums[i]
		if o.Entity != nil {
			f.entity(o.Entity)
			if o.Asset != nil {
				sm := attribute.Summarize(o)
				v := o.Value
				if o.Kind == attribute.ASN {
					v = fl.Peer.String() + " (" + o.Value + ")"
				}
				r.ev = &store.Evidence{Kind: o.Kind.String(), Value: v, Rule: sm.Evidence.Rule, Source: sm.Evidence.Source}
			}
		}
		if h := res.Host; h.Found() {
			r.host = h.Entity
			f.entity(h.Entity)
		}
	}
	r := &f.sums[i]
	r.first = min(r.first, fl.First)
	r.last = max(r.last, fl.Last)
	r.t.Add(store.Traffic{BytesOut: fl.BytesOut, BytesIn: fl.BytesIn, PacketsOut: fl.PacketsOut, PacketsIn: fl.PacketsIn, Flows: 1})
	f.n++
	if len(f.sums) >= f.MaxRows {
		f.flush(nil)
	}
}

// row builds the store's row of key k, sum s into r.
func (f *Feed) row(k *key, s *sum, r *store.Flow) {
	*r = store.Flow{Hour: time.Unix(0, k.hour*int64(time.Hour)).UTC(), First: time.Unix(0, s.first).UTC(), Last: time.Unix(0, s.last).UTC(),
		Device: flowrec.DeviceID(k.site, k.dev), Peer: k.peer.String(), Port: k.port, Proto: flowrec.ProtoName(k.proto), Name: k.name,
		Role: string(k.role), Source: f.source, Traffic: s.t}
	if k.entity != nil {
		r.Entity = k.entity.ID
		if s.ev != nil {
			r.Evidence = []store.Evidence{*s.ev}
		}
	}
	if h := s.host; h != nil {
		r.Host = h.ID
		if c := h.Chain; len(c) > 0 {
			r.HostCountry = c[len(c)-1].Jurisdiction
		}
	}
}

// each yields the rows (store.FlowRows.Each).
func (f *Feed) each(yield func(*store.Flow) bool) {
	var r store.Flow
	for k, i := range f.rows {
		f.row(&k, &f.sums[i], &r)
		if !yield(&r) {
			return
		}
	}
}

func (f *Feed) entity(e *catalog.Entity) {
	if _, ok := f.ents[e.ID]; !ok {
		f.ents[e.ID] = EntityOf(e)
	}
}

// EntityOf is the store's record of a catalog entity: the jurisdiction is
// the ultimate controlling owner's (whose law reaches the data), beside
// the registered one.
func EntityOf(e *catalog.Entity) store.Entity { return entityrec.Of(e) }

func (f *Feed) flush(extra *store.Batch) {
	if f.err != nil {
		return
	}
	b := extra
	if b == nil {
		b = &store.Batch{}
	}
	for _, e := range f.ents {
		b.Entities = append(b.Entities, e)
	}
	b.More = store.FlowRows{N: len(f.sums), Each: f.each}
	if b.Len() > 0 {
		f.err = f.w.Write(f.ctx, b)
	}
	b.More = store.FlowRows{}
	clear(f.rows)
	clear(f.sums) // drop the entities they hold
	f.sums = f.sums[:0]
}

// Flush writes the rows summed so far and the entities they name as one
// batch (one transaction), and forgets the rows: what the next flush
// writes is only what came after. A long-running feeder (the sensor)
// calls it every interval. It returns the first write error, if any.
func (f *Feed) Flush() error {
	f.flush(nil)
	return f.err
}

// FlushWith is Flush with b's rows (queries, entities, devices) written
// in the same transaction. b is not kept.
func (f *Feed) FlushWith(b *store.Batch) error {
	if b.Len() == 0 {
		b = nil
	}
	f.flush(b)
	return f.err
}

// Pending is how many summed rows wait for the next write.
func (f *Feed) Pending() int { return len(f.sums) }

// Close writes what is left with the report's devices (MAC, name,
// vendor). It returns the first write error, if any, and how many flows
// the feed took.
func (f *Feed) Close(rep *scan.Report) (int, error) {
	b := &store.Batch{}
	if rep != nil {
		gen, _ := time.Parse(time.RFC3339, rep.Generated)
		for _, d := range rep.Devices {
			dv := store.Device{ID: d.Address, MAC: d.MAC, Name: d.Hostname}
			if d.Vendor != nil {
				dv.Vendor = d.Vendor.Name
			}
			b.Devices = append(b.Devices, dv)
			b.Bypass = append(b.Bypass, BypassRows(d, f.source, gen)...)
		}
	}
	f.flush(b)
	return f.n, f.err
}

// BypassRows are a report device's bypass entries as store rows. An
// entry without a time (an old report) is dated at (the report's time);
// with no time at all it is left out.
func BypassRows(d scan.Device, source string, at time.Time) []store.Bypass {
	return EntryRows(nil, d.Address, d.Bypass, source, at)
}

// EntryRows appends to out one device's bypass entries (a scan's, or a
// sensor's window) as store rows, dated as BypassRows says.
func EntryRows(out []store.Bypass, device string, entries []bypass.Entry, source string, at time.Time) []store.Bypass {
	for _, e := range entries {
		fs, _ := time.Parse(time.RFC3339Nano, e.FirstSeen)
		ls, _ := time.Parse(time.RFC3339Nano, e.LastSeen)
		if fs.IsZero() {
			fs = at
		}
		if fs.IsZero() {
			continue
		}
		if ls.Before(fs) {
			ls = fs
		}
		r := store.Bypass{Device: device, Kind: string(e.Kind), Peer: e.Peer, Port: e.Port, Proto: e.Proto, Name: e.Name,
			Service: e.Service, Owner: e.Owner, OwnerName: e.OwnerName, Evidence: []store.BypassEvidence{},
			Flows: uint64(max(e.Flows, 0)), BytesOut: e.BytesOut, BytesIn: e.BytesIn, First: fs.UTC(), Last: ls.UTC(), Source: source}
		for _, ev := range e.Evidence {
			r.Evidence = append(r.Evidence, store.BypassEvidence{Kind: ev.Kind, Value: ev.Value, Rule: ev.Rule, Source: ev.Source})
		}
		out = append(out, r)
	}
	return out
}

// FromReport converts a scan's report (as read back from its JSON) into
// one batch. A report sums each device and entity over the whole capture,
// so each exposure becomes one row at the hour it was first seen, and the
// traffic to no entity one row per device. ix, if not nil, completes the
// entities (owner's jurisdiction, lists) from the catalog.
func FromReport(rep *scan.Report, ix *catalog.Index, source string) *store.Batch {
	b := &store.Batch{}
	gen, _ := time.Parse(time.RFC3339, rep.Generated)
	ents := map[string]bool{}
	addEnt := func(id, name, jur, ctl string, chain []string, lists []attribute.ListRef) {
		if id == "" || ents[id] {
			return
		}
		ents[id] = true
		if ix != nil {
			if e := ix.Entities[id]; e != nil {
				b.Entities = append(b.Entities, EntityOf(e))
				return
			}
		}
		b.Entities = append(b.Entities, entityrec.FromSummary(attribute.Summary{Entity: id, Name: name, Jurisdiction: jur,
			Controlling: ctl, OwnerChain: chain, Lists: lists}))
	}
	var span struct{ first, last time.Time }
	for _, d := range rep.Devices {
		for _, x := range d.Exposures {
			fs, _ := time.Parse(time.RFC3339Nano, x.FirstSeen)
			ls, _ := time.Parse(time.RFC3339Nano, x.LastSeen)
			if !fs.IsZero() && (span.first.IsZero() || fs.Before(span.first)) {
				span.first = fs
			}
			if ls.After(span.last) {
				span.last = ls
			}
		}
		for _, fl := range d.Flows {
			fs, _ := time.Parse(time.RFC3339Nano, fl.First)
			ls, _ := time.Parse(time.RFC3339Nano, fl.Last)
			if !fs.IsZero() && (span.first.IsZero() || fs.Before(span.first)) {
				span.first = fs
			}
			if ls.After(span.last) {
				span.last = ls
			}
		}
	}
	if span.last.Before(span.first) {
		span.last = span.first
	}
	for _, d := range rep.Devices {
		dv := store.Device{ID: d.Address, MAC: d.MAC, Name: d.Hostname}
		if d.Vendor != nil {
			dv.Vendor = d.Vendor.Name
		}
		b.Devices = append(b.Devices, dv)
		b.Bypass = append(b.Bypass, BypassRows(d, source, gen)...)
		var first, last time.Time
		for _, x := range d.Exposures {
			fs, _ := time.Parse(time.RFC3339Nano, x.FirstSeen)
			ls, _ := time.Parse(time.RFC3339Nano, x.LastSeen)
			if fs.IsZero() {
				fs = gen
			}
			if ls.IsZero() {
				ls = fs
			}
			if first.IsZero() || fs.Before(first) {
				first = fs
			}
			if ls.After(last) {
				last = ls
			}
			addEnt(x.Entity, x.Name, x.Jurisdiction, x.Controlling, x.OwnerChain, x.Lists)
			r := store.Flow{First: fs, Last: ls, Device: d.Address, Entity: x.Entity, Role: x.Role, Source: source,
				Traffic: store.Traffic{BytesOut: x.BytesOut, BytesIn: x.BytesIn, PacketsOut: x.PacketsOut, PacketsIn: x.PacketsIn, Flows: uint64(x.Flows)}}
			if len(x.HostedBy) > 0 {
				r.Host = x.HostedBy[0]
				if ix != nil {
					if h := ix.Entities[r.Host]; h != nil {
						r.HostCountry = EntityOf(h).Jurisdiction
					}
				}
			}
			for _, ev := range x.Evidence {
				r.Evidence = append(r.Evidence, store.Evidence{Kind: ev.Kind.String(), Value: ev.Value, Rule: ev.Rule, Source: ev.Source})
				if r.Name == "" && ev.Kind.IsName() {
					r.Name = strings.ToLower(ev.Value)
				}
			}
			b.Flows = append(b.Flows, r)
		}
		if d.Other.Flows > 0 {
			at := first
			if at.IsZero() {
				// No exposure dates this device: the capture's own span
				// does, not the time the report was written (which may
				// be months after an old capture).
				at, last = span.first, span.last
			}
			if at.IsZero() {
				at = gen
			}
			if at.IsZero() {
				continue
			}
			if last.Before(at) {
				last = at
			}
			b.Flows = append(b.Flows, store.Flow{First: at, Last: last, Device: d.Address, Source: source,
				Traffic: store.Traffic{BytesOut: d.Other.BytesOut, BytesIn: d.Other.BytesIn, PacketsOut: d.Other.PacketsOut, PacketsIn: d.Other.PacketsIn, Flows: uint64(d.Other.Flows)}})
		}
	}
	return b
}
