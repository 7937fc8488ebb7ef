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
	"encoding/binary"
	"hash/maphash"
	"math"
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
	rows   table
	ents   map[string]store.Entity
	err    error
	n      int

	// what the rows' keys name, interned for this feed's rows; devices
	// (and their sites) for the feed's life, so that a caller may keep
	// a device's index (Device) across the feed's writes
	sites  ids[string]
	site   string // the last device's site, whose index is siteID
	siteID uint32
	devs   ids[devKey]
	devIDs []string // store device IDs of devs, made as rows are read
	names  ids[string]
	roles  ids[catalog.Role]
	entl   ids[*catalog.Entity]
	evs    []store.Evidence
	long   map[fkey]int64      // last (ns) of rows whose last is lastLong
	big    map[fkey]*[3]uint64 // packets out and in and flows past a row's 32 bits
	each   func(yield func(*store.Flow) bool)
	eachOK bool // the rows may be read (once, with a pool)
}

// devKey is a device: the 16-byte form of its address, its site's index
// in Feed.sites and whether the address is IPv4, as bytes that hash
// quickly.
type devKey [21]byte

// Device is the feed's index of the device of site and address a, for
// FlowOf. The index holds for the feed's life.
func (f *Feed) Device(site string, a netip.Addr) uint32 {
	if site != f.site || len(f.sites.list) == 0 {
		f.site, f.siteID = site, uint32(f.sites.id(site))
	}
	var k devKey
	b := a.As16()
	copy(k[:16], b[:])
	binary.LittleEndian.PutUint32(k[16:], f.siteID)
	if a.Is4() {
		k[20] = 1
	}
	return uint32(f.devs.id(k))
}

// devID is the store's ID of device i, made once per feed.
func (f *Feed) devID(i uint32) string {
	if int(i) >= len(f.devIDs) {
		f.devIDs = append(f.devIDs, make([]string, len(f.devs.list)-len(f.devIDs))...)
	}
	if f.devIDs[i] == "" {
		d := &f.devs.list[i]
		a := netip.AddrFrom16([16]byte(d[:16]))
		if d[20] == 1 {
			a = a.Unmap()
		}
		f.devIDs[i] = flowrec.DeviceID(f.sites.list[binary.LittleEndian.Uint32(d[16:])], a)
	}
	return f.devIDs[i]
}

// ids numbers the values a feed's rows name, from 0 in the order seen.
type ids[T comparable] struct {
	m    map[T]int
	list []T
}

func (x *ids[T]) id(v T) int {
	i, ok := x.m[v]
	if !ok {
		if x.m == nil {
			x.m = map[T]int{}
		}
		i = len(x.list)
		x.m[v] = i
		x.list = append(x.list, v)
	}
	return i
}

func (x *ids[T]) reset() {
	clear(x.m)
	clear(x.list)
	x.list = x.list[:0]
}

// New returns a feed writing to w; source names the input in the rows.
func New(ctx context.Context, w store.Writer, source string) *Feed {
	f := &Feed{MaxRows: FlushRows, ctx: ctx, w: w, source: source, ents: map[string]store.Entity{}}
	f.rows.seed = maphash.MakeSeed()
	f.entl.id(nil) // 0: no entity
	f.names.id("") // 0: no name
	f.each = f.eachRow
	return f
}

// WithPool makes the feed take its rows' memory from p and give it back
// as a write reads the rows, so that a feed being written and the next
// one being filled share it. The store's Write must then read the
// batch's rows (Batch.More) once: both stores' Write do; a second read
// panics.
func (f *Feed) WithPool(p *Pool) *Feed {
	f.rows.pool = p
	return f
}

// Flow takes one finished flow and its attribution (scan.Config.OnFlow).
func (f *Feed) Flow(fl *flowrec.Flow, res attribute.Result) {
	f.FlowOf(fl, res, f.Device(fl.Site, fl.Device))
}

// FlowOf is Flow for a flow of the device whose index Device gave: a
// caller that keeps its devices (the sensor) spares the feed a lookup
// per flow. fl.Site and fl.Device are not read.
func (f *Feed) FlowOf(fl *flowrec.Flow, res attribute.Result, dev uint32) {
	if f.err != nil {
		return
	}
	o := res.Owner
	if !o.Concern() {
		o = attribute.Attribution{}
	}
	if len(f.entl.list) > 0xfffd || len(f.roles.list) > 0x3e {
		// the key's ids would not hold another: write what is held and
		// number afresh (catalogs this many are not seen)
		f.flush(nil)
	}
	hour := fl.First / int64(time.Hour)
	var k fkey
	put32(&k, kDev, dev)
	putAddr(&k, kPeer, fl.Peer)
	put32(&k, kHour, uint32(hour))
	put32(&k, kName, uint32(f.names.id(fl.Name())))
	put16(&k, kEnt, uint16(f.entl.id(o.Entity)))
	put16(&k, kPort, fl.PeerPort)
	k[kProto] = fl.Proto
	k[kRole] = uint8(f.roles.id(o.Role))
	if fl.Peer.Is4() {
		k[kRole] |= 1 << 7
	}
	start := hour * int64(time.Hour)
	first := uint32(min(max(fl.First-start, 0)/int64(time.Millisecond), lastLong-1))
	last := uint32(lastLong)
	if d := max(fl.Last-start, 0) / int64(time.Millisecond); d < lastLong {
		last = uint32(d)
	} else {
		if f.long == nil {
			f.long = map[fkey]int64{}
		}
		if l, ok := f.long[k]; !ok || fl.Last > l {
			f.long[k] = fl.Last
		}
	}
	r, added := f.rows.find(&k)
	if added {
		r.first, r.last = first, last
		if o.Entity != nil {
			f.entity(o.Entity)
			if o.Asset != nil {
				sm := attribute.Summarize(o)
				v := o.Value
				if o.Kind == attribute.ASN {
					v = fl.Peer.String() + " (" + o.Value + ")"
				}
				f.evs = append(f.evs, store.Evidence{Kind: o.Kind.String(), Value: v, Rule: sm.Evidence.Rule, Source: sm.Evidence.Source})
				r.ev = uint32(len(f.evs))
			}
		}
		if h := res.Host; h.Found() {
			r.host = uint16(f.entl.id(h.Entity))
			f.entity(h.Entity)
		}
	}
	r.first = min(r.first, first)
	r.last = max(r.last, last)
	r.bo += fl.BytesOut
	r.bi += fl.BytesIn
	if po, pi, n := uint64(r.po)+fl.PacketsOut, uint64(r.pi)+fl.PacketsIn, uint64(r.n)+1; max(po, pi, n) <= math.MaxUint32 {
		r.po, r.pi, r.n = uint32(po), uint32(pi), uint32(n)
	} else {
		if f.big == nil {
			f.big = map[fkey]*[3]uint64{}
		}
		b := f.big[k]
		if b == nil {
			b = new([3]uint64)
			f.big[k] = b
		}
		b[0], b[1], b[2] = b[0]+po, b[1]+pi, b[2]+n
		r.po, r.pi, r.n = 0, 0, 0
	}
	f.n++
	if f.rows.n >= f.MaxRows {
		f.flush(nil)
	}
}

// row builds the store's row of r into out.
func (f *Feed) row(r *row, out *store.Flow) {
	k := &r.k
	role := k[kRole]
	start := int64(get32(k, kHour)) * int64(time.Hour)
	last := start + int64(r.last)*int64(time.Millisecond)
	if r.last == lastLong {
		last = f.long[*k]
	}
	*out = store.Flow{Hour: time.Unix(0, start).UTC(), First: time.Unix(0, start+int64(r.first)*int64(time.Millisecond)).UTC(), Last: time.Unix(0, last).UTC(),
		Device: f.devID(get32(k, kDev)), Peer: addrAt(k, kPeer, role&(1<<7) != 0).String(), Port: get16(k, kPort), Proto: flowrec.ProtoName(k[kProto]),
		Name: f.names.list[get32(k, kName)], Role: string(f.roles.list[role&0x3f]), Source: f.source,
		Traffic: store.Traffic{BytesOut: r.bo, BytesIn: r.bi, PacketsOut: uint64(r.po), PacketsIn: uint64(r.pi), Flows: uint64(r.n)}}
	if len(f.big) > 0 {
		if b := f.big[*k]; b != nil {
			out.PacketsOut += b[0]
			out.PacketsIn += b[1]
			out.Flows += b[2]
		}
	}
	if e := f.entl.list[get16(k, kEnt)]; e != nil {
		out.Entity = e.ID
		if r.ev != 0 {
			out.Evidence = f.evs[r.ev-1 : r.ev : r.ev]
		}
	}
	if h := f.entl.list[r.host]; h != nil {
		out.Host = h.ID
		if c := h.Chain; len(c) > 0 {
			out.HostCountry = c[len(c)-1].Jurisdiction
		}
	}
}

// eachRow yields the rows (store.FlowRows.Each). With a pool, each chunk
// goes back to it once its rows are read.
func (f *Feed) eachRow(yield func(*store.Flow) bool) {
	t := &f.rows
	if t.pool != nil {
		if !f.eachOK {
			panic("scanfeed: a feed with a pool is read once per write")
		}
		f.eachOK = false
	}
	var out store.Flow
	for i := 0; i < t.n; i++ {
		f.row(t.at(i), &out)
		if !yield(&out) {
			return
		}
		if t.pool != nil && (i+1)%chunkRows == 0 {
			c := i / chunkRows
			t.pool.put(t.chunks[c])
			t.chunks[c] = nil
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
	f.rows.group()
	b.More = store.FlowRows{N: f.rows.n, Each: f.each}
	f.eachOK = true
	if b.Len() > 0 {
		f.err = f.w.Write(f.ctx, b)
	}
	b.More = store.FlowRows{}
	f.rows.reset()
	f.names.reset()
	f.names.id("")
	clear(f.long)
	clear(f.big)
	f.roles.reset()
	f.entl.reset()
	f.entl.id(nil)
	clear(f.evs)
	f.evs = f.evs[:0]
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
func (f *Feed) Pending() int { return f.rows.n }

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
