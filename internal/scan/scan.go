package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/capture/pcapfile"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/ingest/eve"
	"github.com/outflow-dev/outflow/internal/ingest/netflow"
	"github.com/outflow-dev/outflow/internal/ingest/zeek"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
)

// Config tunes a scan.
type Config struct {
	Flow flow.Config
	// All keeps a line per flow of no concern too (--all).
	All bool
	// MaxEvidence bounds the evidence kept per device and entity.
	MaxEvidence int
	// Context, if set, describes an address from a user's ASN or country
	// database (--ip-db): shown beside flows, never used to attribute.
	Context func(netip.Addr) string
	// FlowExports reads NetFlow v5/v9 and IPFIX datagrams in the capture
	// (UDP to 2055, 4739, 9995, 9996) as the flows they describe, instead
	// of as traffic to the collector.
	FlowExports bool
	// Progress, if set, is called now and then with bytes read so far.
	Progress func(read int64, packets uint64)
	// OnFlow, if set, is called with each finished flow and its
	// attribution, before it is summed into the report (outflow scan
	// --store keeps flows per hour). It must not keep f.
	OnFlow func(f *flowrec.Flow, res attribute.Result)
	// MaxDevices bounds the devices whose sums are kept while the scan
	// reads: the flows of any device past them are spilled to a
	// temporary file, and summed device by device when the report is
	// written (FinishStream), to the same report. A capture of tens of
	// thousands of devices (bench/scan/distinct.sh 400) held most of its
	// memory in their sums. 0 is DefaultMaxDevices.
	MaxDevices int
	// Workers above 1 reads and decodes a capture on one goroutine while
	// the flow tracker runs on another (readPipelined): the same work in
	// the same order, so the report is the same byte for byte.
	Workers int
	// PipelineMin, with Workers above 1, is the smallest capture file
	// pipelined: a smaller one is read on one goroutine (the same
	// report). 0 pipelines every capture; a stream of unknown size is
	// always pipelined. The pipeline's batches (3 MB of new memory the
	// first time, and its page faults) and hand-offs cost more than it
	// gained on every capture measured, up to 10.6 MB
	// (docs/benchmarks.md, "Across cores").
	PipelineMin int64
}

// DefaultMaxDevices is Config.MaxDevices by default: under 3 MB of sums
// on bench/scan/distinct.sh's captures, and every device of the 40-copy
// one (3,261).
const DefaultMaxDevices = 4096

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Flow: flow.DefaultConfig(), MaxEvidence: 12, MaxDevices: DefaultMaxDevices}
}

// Scanner reads captures into one report.
type Scanner struct {
	cfg      Config
	at       *attribute.Attributor
	tracker  *flow.Tracker
	devs     map[netip.Addr]*devAgg
	inputs   []Input
	exports  *netflow.Decoder
	warns    []string
	concern  uint64
	exported uint64
	logged   uint64
	zeek     *zeek.Reader
	eve      *eve.Reader
	bypass   *bypass.Finder
	// read counts the packets read from captures, for Progress; it is
	// the reading goroutine's own (the tracker's counters are not).
	read uint64
	// spill holds the flows of the devices past cfg.MaxDevices; nil
	// until the first.
	spill *spill
	// ended, while readPipelined runs, takes finished flows to the
	// goroutine that sums them; nil the rest of the time.
	ended func(*flowrec.Flow)
	// pipe holds readPipelined's batches between captures, until the
	// report (FinishStream); pipelined counts the captures it read.
	pipe      *pipeBuffers
	pipelined int
	// sums are attributions' summaries (summary), used by the stage
	// that sums flows and then by the report's, never at once.
	sums map[attribute.Attribution]attribute.Summary
}

// maxSums bounds Scanner.sums: distinct attributions (entity, evidence
// value, asset) number a few per name of concern.
const maxSums = 4096

// summary is attribute.Summarize(a), kept, but for its evidence's value
// (empty): a report's devices share their entities' summaries, whose
// lists and owner chains were made again for every device and piece of
// evidence (3 % of a scan of distinct flows). Callers must not change the
// slices in it.
func (s *Scanner) summary(a attribute.Attribution) attribute.Summary {
	// the indicator's value only fills the summary's evidence, whose
	// callers put in their own: one entry serves every name of an asset
	a.Value = ""
	if sm, ok := s.sums[a]; ok {
		return sm
	}
	sm := attribute.Summarize(a)
	if s.sums == nil || len(s.sums) >= maxSums {
		s.sums = make(map[attribute.Attribution]attribute.Summary, 64)
	}
	s.sums[a] = sm
	return sm
}

// devAgg is one device's sums. A capture of many devices (every copy
// of bench/scan/distinct.sh's capture has other addresses) keeps one per
// device to the end, most with nothing of concern: the maps are made when
// first needed.
type devAgg struct {
	exp     map[expKey]*expAgg // nil until its first exposure
	other   Counts
	hidden  map[string]*Hidden // nil until its first hidden name
	flows   []FlowLine
	dropped int
	bypass  bypass.Window
	serving serving // the flows it answered as a server (server.go)
}

type expKey struct {
	entity *catalog.Entity
	role   catalog.Role
}

type expAgg struct {
	a        attribute.Attribution
	c        Counts
	first    int64
	last     int64
	evidence []attribute.Evidence
	hosts    map[string]bool // nil until the first
}

// New returns a scanner over an attributor.
func New(cfg Config, at *attribute.Attributor) *Scanner {
	if cfg.MaxEvidence <= 0 {
		cfg.MaxEvidence = 12
	}
	if cfg.MaxDevices <= 0 {
		cfg.MaxDevices = DefaultMaxDevices
	}
	s := &Scanner{cfg: cfg, at: at, devs: map[netip.Addr]*devAgg{}, bypass: bypass.New(at)}
	s.tracker = flow.New(cfg.Flow, s.finished)
	if cfg.FlowExports {
		s.exports = netflow.New()
	}
	return s
}

// ReadFile scans one capture ("-" is standard input). A read error after
// some packets keeps what was read and is returned; the scan can go on with
// other files.
func (s *Scanner) ReadFile(ctx context.Context, path string) error {
	r, err := pcapfile.Open(path)
	if err != nil {
		s.inputs = append(s.inputs, Input{Name: path, Error: err.Error()})
		return err
	}
	defer r.Close()
	return s.Read(ctx, r)
}

// Read scans packets from an open capture.
func (s *Scanner) Read(ctx context.Context, r *pcapfile.Reader) error {
	in := Input{Name: r.Name}
	var rerr error
	if s.cfg.Workers > 1 && (r.Size < 0 || r.Size >= s.cfg.PipelineMin) {
		rerr = s.readPipelined(ctx, r, &in)
	} else {
		rerr = s.decode(ctx, r, &in, func(it *item) { s.apply(r.Name, it) })
	}
	in.Packets, in.Bytes = r.Packets(), r.BytesRead()
	if rerr != nil && !errors.Is(rerr, context.Canceled) {
		in.Error = rerr.Error()
		s.warns = append(s.warns, fmt.Sprintf("%v: reading stopped; the report covers the %d packets before it", rerr, r.Packets()))
	}
	s.inputs = append(s.inputs, in)
	return rerr
}

// decode reads and decodes a capture's packets and hands each, in
// order, to emit as an item; the item is only valid during the call. It
// touches nothing that apply does, so that the two can run on
// goroutines of their own (readPipelined).
func (s *Scanner) decode(ctx context.Context, r *pcapfile.Reader, in *Input, emit func(*item)) error {
	var (
		link    = layers.LinkType(255)
		dec     *decode.Decoder
		decs    = map[layers.LinkType]*decode.Decoder{}
		unknown = map[layers.LinkType]bool{}
		it      item
	)
	for n := 0; ; n++ {
		if n&0xffff == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.cfg.Progress != nil {
				s.cfg.Progress(r.BytesRead(), s.read)
			}
		}
		data, ci, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		s.read++
		if l := r.PacketLinkType(ci); l != link || dec == nil {
			d, ok := decs[l]
			if !ok {
				if d, err = decode.New(l); err != nil {
					d = nil
					if r.Packets() == 1 {
						// the capture's own link type: nothing in it can be read
						return fmt.Errorf("%s: %w", r.Name, err)
					}
					if !unknown[l] {
						unknown[l] = true
						emit(&item{warn: fmt.Sprintf("%s: packets of link type %v skipped: %v", r.Name, l, err)})
					}
				}
				decs[l] = d
			}
			link, dec = l, d
			if in.Link == "" {
				in.Link = l.String()
			}
		}
		if dec == nil || dec.Decode(data, &it.p) != nil {
			emit(&item{notIP: true})
			continue
		}
		it.wire = ci.Length
		if it.wire == 0 {
			it.wire = len(data)
		}
		it.ts, it.num = ci.Timestamp, r.Packets()
		emit(&it)
	}
}

// apply feeds one item to the tracker (or the export decoder), and a
// warning to the report, in the order decode made them.
func (s *Scanner) apply(name string, it *item) {
	p := &it.p
	switch {
	case it.warn != "":
		s.warns = append(s.warns, it.warn)
	case it.notIP:
		s.tracker.Stats.NotIP++
	case s.exports != nil && p.Proto == flowrec.UDP && netflow.Ports[p.DstPort]:
		s.tracker.Stats.Packets++
		if err := s.exports.Decode(netip.AddrPortFrom(p.Src, p.SrcPort), p.Payload, it.ts, s.record); err != nil && len(s.warns) < 100 {
			s.warns = append(s.warns, fmt.Sprintf("%s: packet %d: %v", name, it.num, err))
		}
	default:
		s.tracker.Packet(p, it.wire, it.ts)
	}
}

// record adds one exported flow, its inside end as the device.
func (s *Scanner) record(f *flowrec.Flow) {
	f.Orient(s.tracker.IsLocal)
	s.exported++
	s.finished(f)
}

// AddInput records an input read outside ReadFile (a live interface), so
// that the report's header counts it.
func (s *Scanner) AddInput(in Input) { s.inputs = append(s.inputs, in) }

// ConcernFlows is the number of finished flows attributed to an entity of
// concern so far.
func (s *Scanner) ConcernFlows() uint64 { return s.concern }

// Tracker exposes the flow tracker, for live capture.
func (s *Scanner) Tracker() *flow.Tracker { return s.tracker }

// finished takes a flow the tracker (or the export decoder) finished.
func (s *Scanner) finished(f *flowrec.Flow) {
	if s.ended != nil {
		s.ended(f)
		return
	}
	s.sink(f)
}

// sink attributes one finished flow and sums it, or spills it when its
// device is past Config.MaxDevices.
func (s *Scanner) sink(f *flowrec.Flow) {
	res := s.at.Flow(f)
	if s.cfg.OnFlow != nil {
		s.cfg.OnFlow(f, res)
	}
	if res.Owner.Concern() {
		s.concern++
	}
	d := s.devs[f.Device]
	if d == nil {
		if s.spill != nil || len(s.devs) >= s.cfg.MaxDevices {
			// a device with no sums in memory has all its flows
			// spilled, attributed again when summed (FinishStream)
			if s.spill == nil {
				s.spill = &spill{}
			}
			s.spill.add(f)
			return
		}
		d = &devAgg{}
		s.devs[f.Device] = d
	}
	s.sum(d, f, res)
}

// sum adds one attributed flow to its device's sums.
func (s *Scanner) sum(d *devAgg, f *flowrec.Flow, res attribute.Result) {
	s.bypass.Add(&d.bypass, f)
	d.serving.add(f)
	c := Counts{BytesOut: f.BytesOut, BytesIn: f.BytesIn, PacketsOut: f.PacketsOut, PacketsIn: f.PacketsIn, Flows: 1}
	if f.Hidden != flowrec.NotHidden {
		key := f.Hidden.String() + "|" + f.Peer.String()
		h := d.hidden[key]
		if h == nil {
			h = &Hidden{Reason: f.Hidden.String(), Peer: f.Peer.String(), Name: firstNonEmpty(f.SNI, f.QUICSNI), Context: s.context(f.Peer)}
			if res.Owner.Found() {
				h.Entity = res.Owner.Entity.ID
			}
			if d.hidden == nil {
				d.hidden = map[string]*Hidden{}
			}
			d.hidden[key] = h
		}
		h.Flows++
	}
	o := res.Owner
	if !o.Concern() {
		addCounts(&d.other, c)
		s.line(d, f, "", "", c)
		return
	}
	k := expKey{o.Entity, o.Role}
	e := d.exp[k]
	if e == nil {
		e = &expAgg{a: o, first: f.First}
		if d.exp == nil {
			d.exp = map[expKey]*expAgg{}
		}
		d.exp[k] = e
	} else if o.Better(e.a) {
		e.a = o
	}
	addCounts(&e.c, c)
	if f.First < e.first {
		e.first = f.First
	}
	if f.Last > e.last {
		e.last = f.Last
	}
	s.evidence(e, o, res, f)
	if h := res.Host; h.Found() && h.Entity != o.Entity {
		if e.hosts == nil {
			e.hosts = map[string]bool{}
		}
		e.hosts[h.Entity.ID] = true
	}
	s.line(d, f, o.Entity.ID, string(o.Role), c)
}

func (s *Scanner) line(d *devAgg, f *flowrec.Flow, entity, role string, c Counts) {
	if !s.cfg.All {
		return
	}
	if len(d.flows) >= 10000 {
		d.dropped++
		return
	}
	proto := "udp"
	if f.Proto == flowrec.TCP {
		proto = "tcp"
	}
	d.flows = append(d.flows, FlowLine{Proto: proto, Device: netip.AddrPortFrom(f.Device, f.DevicePort).String(), Peer: netip.AddrPortFrom(f.Peer, f.PeerPort).String(),
		Name: firstNonEmpty(f.SNI, f.QUICSNI, f.HTTPHost, f.XMPPTo, f.DNSName, f.PeerName), Entity: entity, Role: role, Counts: c,
		First: ts(f.First), Last: ts(f.Last), Context: s.context(f.Peer), Tunnel: f.Tunnel, Protocol: f.Signature})
}

func (s *Scanner) context(a netip.Addr) string {
	if s.cfg.Context == nil {
		return ""
	}
	return s.cfg.Context(a)
}

func (s *Scanner) evidence(e *expAgg, o attribute.Attribution, res attribute.Result, f *flowrec.Flow) {
	add := func(a attribute.Attribution) {
		if !a.Found() || a.Asset == nil {
			return
		}
		v := a.Value
		if a.Kind == attribute.ASN {
			v = f.Peer.String() + " (" + a.Value + ")"
		}
		for _, ev := range e.evidence {
			if ev.Kind == a.Kind && ev.Value == v {
				return
			}
		}
		if len(e.evidence) >= s.cfg.MaxEvidence {
			return
		}
		ev := s.summary(a).Evidence
		ev.Value = v
		e.evidence = append(e.evidence, ev)
	}
	add(o)
	if res.Host.Found() && res.Host.Entity == o.Entity && res.Host.Kind != o.Kind {
		add(res.Host)
	}
	// A CNAME target in a cloud or CDN: the evidence of "hosted by".
	if res.Host.Found() && res.Host.Entity != o.Entity && res.Host.Kind == attribute.DNSAnswer {
		add(res.Host)
	}
}

// Finish flushes the tracker and builds the report, every device in it.
// Flows spilled to a temporary file that cannot be read back (it is the
// scanner's own) leave the devices after them out, and a warning says so.
func (s *Scanner) Finish(now time.Time) *Report {
	rep := s.FinishStream(now)
	rep.Devices = []Device{}
	if err := rep.EachDevice(func(d *Device) error {
		rep.Devices = append(rep.Devices, *d)
		return nil
	}); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the report stops at %d devices: %v", len(rep.Devices), err))
	}
	rep.each = nil
	_ = s.Close()
	return rep
}

// FinishStream flushes the tracker and returns the report without its
// devices: Devices is nil, and EachDevice builds them one at a time, in
// the report's order, from the sums the scanner keeps or the flows it
// spilled. The totals and the devices' warnings (which come after the
// devices in every output) are complete once EachDevice has walked
// every device; the rest at once. A report of many devices is then
// written (internal/report/scanreport) without all of it in memory at
// once: on the ten-times-larger capture of bench/scan/distinct.sh,
// 32,671 devices, the report's structures and its JSON took more memory
// than the scan itself. The scanner must not read more input
// afterwards; Close removes its temporary file once the report is
// written.
func (s *Scanner) FinishStream(now time.Time) *Report {
	s.pipe = nil // no capture more: 3.7 MB the collector would scan
	s.tracker.Flush()
	ix := s.at.Index()
	rep := &Report{Generated: now.UTC().Format(time.RFC3339), Inputs: s.inputs, Warnings: s.warns,
		Catalog: CatalogInfo{Entities: len(ix.Entities), Assets: ix.AssetCount(), At: ix.At.Format("2006-01-02")}}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	st := s.tracker.Stats
	rep.Stats = Stats{Packets: st.Packets + st.NotIP, NotIP: st.NotIP, Flows: st.Flows, FlowsEvicted: st.Evicted,
		Fragments: st.Fragments, ConcernFlows: s.concern, Reassembled: st.Reassembled}
	rep.Stats.LoggedFlows = s.logged
	if s.exports != nil {
		rep.Stats.ExportedFlows = s.exported
		s.exports.Expire(time.Unix(1<<40, 0)) // end of input: what waits for a template never gets it
		st := s.exports.Total()
		if st.Dropped > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d export data sets never got their template and were skipped", st.Dropped))
		}
		if st.Future > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d exported flows were dated after their export and were given the export time", st.Future))
		}
	}
	if st.Evicted > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the flow table was full %d times: the oldest flows were closed early (counts stay right; a flow may be split)", st.Evicted))
	}
	if s.spill != nil {
		if s.spill.flush(); s.spill.err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the flows of the devices past the first %d could not be written to a temporary file (%v): "+
				"they were held in memory (%d bytes); set TMPDIR to a writable directory", s.cfg.MaxDevices, s.spill.err, s.spill.memBytes()))
		}
	}
	addrs := make([]netip.Addr, 0, len(s.devs))
	for a := range s.devs {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	rep.Totals = []Total{}
	walked := false
	rep.each = func(fn func(*Device) error) error {
		// The totals and the devices' warnings come after the devices
		// in every output: they are summed on the first walk.
		var (
			totals map[expKey]*Total
			warns  []string
		)
		if !walked {
			totals = map[expKey]*Total{}
		}
		err := s.eachSum(addrs, func(a netip.Addr, d *devAgg) error {
			if totals != nil {
				warns = s.deviceTotals(a, d, totals, warns)
			}
			dev := s.device(a, d)
			return fn(&dev)
		})
		if err != nil || walked {
			return err
		}
		walked = true
		rep.Warnings = append(rep.Warnings, warns...)
		for _, t := range totals {
			rep.Totals = append(rep.Totals, *t)
		}
		sort.Slice(rep.Totals, func(i, j int) bool {
			x, y := rep.Totals[i], rep.Totals[j]
			if x.BytesOut != y.BytesOut {
				return x.BytesOut > y.BytesOut
			}
			return x.Entity+x.Role < y.Entity+y.Role
		})
		return nil
	}
	return rep
}

// eachSum calls fn with each device's sums in address order: those kept
// during the scan (addrs, sorted) and those of the devices whose flows were
// spilled, summed from a merge of the spill's runs one device at a time.
func (s *Scanner) eachSum(addrs []netip.Addr, fn func(netip.Addr, *devAgg) error) error {
	if s.spill == nil {
		for _, a := range addrs {
			if err := fn(a, s.devs[a]); err != nil {
				return err
			}
		}
		return nil
	}
	sr, err := s.spill.reader()
	if err != nil {
		return err
	}
	var r flowSource = sr
	if s.cfg.Workers > 1 {
		p := newPrefetch(sr)
		defer p.stop()
		r = p
	}
	var f flowrec.Flow
	for {
		next, ok := r.peek()
		if len(addrs) > 0 && (!ok || addrs[0].Less(next)) {
			if err := fn(addrs[0], s.devs[addrs[0]]); err != nil {
				return err
			}
			addrs = addrs[1:]
			continue
		}
		if !ok {
			return nil
		}
		d := &devAgg{}
		for a, ok := next, true; ok && a == next; a, ok = r.peek() {
			if err := r.next(&f); err != nil {
				return err
			}
			s.sum(d, &f, s.at.Flow(&f))
		}
		if err := fn(next, d); err != nil {
			return err
		}
	}
}

// deviceTotals adds a device's exposures to the totals, and appends its
// warnings.
func (s *Scanner) deviceTotals(a netip.Addr, d *devAgg, totals map[expKey]*Total, warns []string) []string {
	if d.dropped > 0 {
		warns = append(warns, fmt.Sprintf("%s: %d flows not listed (limit 10000 per device)", a, d.dropped))
	}
	for k, e := range d.exp {
		t := totals[k]
		if t == nil {
			// the first device in address order names it, as its
			// exposure does
			sm := s.summary(e.a)
			t = &Total{Entity: sm.Entity, Name: sm.Name, Jurisdiction: sm.Jurisdiction, Controlling: sm.Controlling, Role: sm.Role, Lists: sm.Lists}
			totals[k] = t
		}
		addCounts(&t.Counts, e.c)
		t.Devices++ // a device has one exposure per key
	}
	if sv := d.serving.mark(); sv != nil {
		warns = append(warns, serverWarning(a, sv))
	}
	if d.bypass.Dropped > 0 {
		warns = append(warns, fmt.Sprintf("%s: %d bypass flows not listed (limit %d entries per device)", a, d.bypass.Dropped, bypass.MaxEntries))
	}
	return warns
}

// Close removes the scan's temporary file, if it spilled flows to one;
// a report from FinishStream cannot be walked afterwards.
func (s *Scanner) Close() error {
	err := s.spill.close()
	s.spill = nil
	return err
}

// device builds the report's entry for one device from its sums.
func (s *Scanner) device(a netip.Addr, d *devAgg) Device {
	dev := Device{Address: a.String(), Other: d.other, Exposures: []Exposure{}, Flows: d.flows}
	if kd := s.tracker.Devices().Lookup(a); kd != nil {
		if len(kd.MAC) == 6 {
			dev.MAC = kd.MAC.String()
			if v := s.at.MAC(kd.MAC); v.Found() {
				dev.Vendor = &Vendor{Entity: v.Entity.ID, Name: v.Entity.Name, Role: string(v.Role), Lists: s.summary(v).Lists, Source: v.Asset.Source.ID}
			}
		}
		dev.Hostname = kd.Hostname
	}
	dev.OnLink = s.tracker.OnLink(a)
	for _, e := range d.exp {
		sm := s.summary(e.a)
		x := Exposure{Entity: sm.Entity, Name: sm.Name, Jurisdiction: sm.Jurisdiction, Controlling: sm.Controlling, OwnerChain: sm.OwnerChain,
			Minority: sm.Minority, Role: sm.Role, Lists: sm.Lists, Counts: e.c, FirstSeen: ts(e.first), LastSeen: ts(e.last),
			Evidence: e.evidence, Confidence: e.a.Confidence.String(), Unverified: sm.Unverified}
		for h := range e.hosts {
			x.HostedBy = append(x.HostedBy, h)
		}
		sort.Strings(x.HostedBy)
		dev.Exposures = append(dev.Exposures, x)
	}
	sort.Slice(dev.Exposures, func(i, j int) bool {
		x, y := dev.Exposures[i], dev.Exposures[j]
		if x.BytesOut+x.BytesIn != y.BytesOut+y.BytesIn {
			return x.BytesOut+x.BytesIn > y.BytesOut+y.BytesIn
		}
		return x.Entity+x.Role < y.Entity+y.Role
	})
	dev.LooksLikeServer = d.serving.mark()
	dev.Bypass = d.bypass.Entries()
	for _, h := range d.hidden {
		dev.Hidden = append(dev.Hidden, *h)
	}
	sort.Slice(dev.Hidden, func(i, j int) bool {
		return dev.Hidden[i].Reason+dev.Hidden[i].Peer < dev.Hidden[j].Reason+dev.Hidden[j].Peer
	})
	return dev
}

// Concern reports whether the report names any entity of concern.
func (r *Report) Concern() bool { return len(r.Totals) > 0 }

// EachDevice calls fn with each device in the report's order (by
// address), stopping at fn's first error or one reading the scan's
// spilled flows back: those of Devices, or those FinishStream left to be
// built, each built when its turn comes (fn must not keep the pointer).
// A streamed report's devices can be walked once or more, until the
// scanner is closed; its Totals and the devices' Warnings are complete
// after the first walk to the end.
func (r *Report) EachDevice(fn func(*Device) error) error {
	if r.each != nil {
		return r.each(fn)
	}
	for i := range r.Devices {
		if err := fn(&r.Devices[i]); err != nil {
			return err
		}
	}
	return nil
}

func addCounts(dst *Counts, c Counts) {
	dst.BytesOut += c.BytesOut
	dst.BytesIn += c.BytesIn
	dst.PacketsOut += c.PacketsOut
	dst.PacketsIn += c.PacketsIn
	dst.Flows += c.Flows
}

func ts(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return strings.ToLower(s)
		}
	}
	return ""
}
