package netflow

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	nf "github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// timebase dates a datagram's records: the export time from its header,
// and for NetFlow v9 (and v5) the exporter's boot time, from which
// sysUptime-relative fields count.
type timebase struct {
	export  time.Time
	boot    time.Time
	hasBoot bool
}

func (tb timebase) uptime(ms uint64) int64 {
	if !tb.hasBoot {
		return 0
	}
	return tb.boot.Add(time.Duration(ms) * time.Millisecond).UnixNano()
}

// settle gives a record without its own times the export time (a record
// without an end its start), and clamps times after the export to it. It
// returns how many times it clamped (0 to 2).
func (tb timebase) settle(f *flowrec.Flow) uint64 {
	ex := tb.export.UnixNano()
	if f.First == 0 {
		f.First = f.Last
	}
	if f.First == 0 {
		f.First = ex
	}
	if f.Last == 0 {
		f.Last = f.First
	}
	var n uint64
	if f.First > ex {
		f.First, n = ex, 1
	}
	if f.Last > ex {
		f.Last, n = ex, 1
	}
	if f.Last < f.First {
		f.Last = f.First
	}
	return n
}

func (d *Decoder) templated(ex *exporter, payload []byte, at time.Time, visit func(*flowrec.Flow)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ex.st.Errors++
			err = fmt.Errorf("netflow: malformed datagram (%v)", r)
		}
	}()
	var v9 nf.NFv9Packet
	var ipfix nf.IPFIXPacket
	ex.tmpl.added = ex.tmpl.added[:0]
	w0, r0 := ex.tmpl.withdrawn, ex.tmpl.refused
	err = nf.DecodeMessageVersion(bytes.NewBuffer(payload), ex.tmpl, &v9, &ipfix)
	ex.st.Withdrawn += ex.tmpl.withdrawn - w0
	ex.st.Refused += ex.tmpl.refused - r0
	var (
		sets    = ipfix.FlowSets
		version = uint16(10)
		domain  = ipfix.ObservationDomainId
		tb      = timebase{export: time.Unix(int64(ipfix.ExportTime), 0)}
	)
	if v9.Version == 9 {
		sets, version, domain = v9.FlowSets, 9, v9.SourceId
		tb.export = time.Unix(int64(v9.UnixSeconds), 0)
		tb.boot, tb.hasBoot = tb.export.Add(-time.Duration(v9.SystemUptime)*time.Millisecond), true
	}
	site := d.site(ex, domain)
	// options first: a sampling rate announced in this datagram applies
	// to its data
	for _, s := range sets {
		if os, ok := s.(nf.OptionsDataFlowSet); ok {
			for _, r := range os.Records {
				ex.st.Options++
				if rate := samplingRate(r.OptionsValues); rate > 0 {
					ex.sampling[domain] = rate
				}
			}
		}
	}
	for _, s := range sets {
		rs, ok := s.(nf.RawFlowSet)
		if !ok {
			continue
		}
		switch t, err := ex.tmpl.GetTemplate(version, domain, rs.Id); {
		case err == nil:
			if dt, ok := t.(dataTemplate); ok {
				if derr := d.rawData(ex, dt, version, rs.Records, domain, site, tb, visit); derr != nil {
					ex.st.Errors++
				}
			}
			// an options set goflow2 could not decode: counted below
		case rs.Id >= 256:
			ex.st.NoTemplate++
			if len(d.held) >= d.cfg.MaxHeld {
				d.held[0].ex.st.Dropped++
				d.held = append(d.held[:0], d.held[1:]...)
			}
			d.held = append(d.held, held{ex: ex, key: tkey(version, domain, rs.Id), domain: domain,
				data: append([]byte(nil), rs.Records...), at: at, tb: tb})
		}
	}
	if len(ex.tmpl.added) > 0 {
		d.late(ex, visit)
	}
	if err != nil && !errors.Is(err, nf.ErrorTemplateNotFound) {
		ex.st.Errors++
		return fmt.Errorf("netflow: %w", err)
	}
	return nil
}

// rawData reads the records of one data set straight from its bytes, as
// template t lays them out (fixed fields, and IPFIX variable-length ones:
// RFC 7011 section 7), one flow record per set reused for each: no
// allocation per record. A tail shorter than a record is padding; a
// record cut short ends the set with an error, the records before it
// counted.
func (d *Decoder) rawData(ex *exporter, t dataTemplate, version uint16, data []byte, domain uint32, site string, tb timebase, visit func(*flowrec.Flow)) error {
	f := new(flowrec.Flow) // one per set: visit must not keep it
	for len(data) > 0 && len(data) >= t.min {
		var x builder
		p := data
		for i := range t.fields {
			fd := &t.fields[i]
			l := int(fd.Length)
			if fd.Length == 0xffff && version == 10 {
				if len(p) < 1 {
					return errShortRecord
				}
				l, p = int(p[0]), p[1:]
				if l == 255 {
					if len(p) < 2 {
						return errShortRecord
					}
					l, p = int(p[0])<<8|int(p[1]), p[2:]
				}
			}
			if len(p) < l {
				return errShortRecord
			}
			x.field(fd.Type, fd.PenProvided, fd.Pen, p[:l])
			p = p[l:]
		}
		if len(p) == len(data) {
			return nil // a record of no bytes: nothing more to read
		}
		data = p
		var rate uint64
		*f, rate = x.finish(tb)
		if rate == 0 {
			rate = ex.sampling[domain]
		}
		scale(f, rate)
		f.Site = site
		f.NoDNS = true
		ex.st.Future += tb.settle(f)
		ex.st.Records++
		visit(f)
	}
	return nil
}

var errShortRecord = errors.New("data record cut short")

// late decodes the held sets whose template arrived.
func (d *Decoder) late(ex *exporter, visit func(*flowrec.Flow)) {
	kept := d.held[:0]
	for _, h := range d.held {
		t, ok := h.ex.tmpl.m[h.key]
		if h.ex != ex || !ok {
			kept = append(kept, h)
			continue
		}
		version := uint16(h.key >> 48)
		dt, ok := t.(dataTemplate)
		if !ok {
			continue // options data late: the rate it carried is stale
		}
		if err := d.rawData(ex, dt, version, h.data, h.domain, d.site(ex, h.domain), h.tb, visit); err != nil {
			ex.st.Errors++
		}
		ex.st.Late++
	}
	clear(d.held[len(kept):])
	d.held = kept
}

// scale multiplies the counters by a 1-in-rate sampling.
func scale(f *flowrec.Flow, rate uint64) {
	if rate <= 1 {
		return
	}
	f.BytesOut *= rate
	f.BytesIn *= rate
	f.PacketsOut *= rate
	f.PacketsIn *= rate
}

// Information elements (IANA IPFIX registry; the same numbers in v9).
const (
	ieOctets        = 1
	iePackets       = 2
	ieProto         = 4
	ieSrcPort       = 7
	ieSrc4          = 8
	ieDstPort       = 11
	ieDst4          = 12
	ieLastUp        = 21 // sysUptime of last packet (ms)
	ieFirstUp       = 22
	ieSrc6          = 27
	ieDst6          = 28
	ieSamplingInt   = 34 // samplingInterval (v9)
	ieSamplerRandom = 50 // samplerRandomInterval
	ieOctetsTot     = 85
	iePacketsTot    = 86
	ieStartSec      = 150
	ieEndSec        = 151
	ieStartMs       = 152
	ieEndMs         = 153
	ieStartUs       = 154 // NTP format
	ieEndUs         = 155
	ieStartNs       = 156
	ieEndNs         = 157
	ieStartDeltaUs  = 158 // microseconds before the export time
	ieEndDeltaUs    = 159
	ieSysInitMs     = 160 // systemInitTimeMilliseconds
	ieSamplingPkt   = 305 // samplingPacketInterval
	reversePEN      = 29305
	ntpEpochOffset  = 2208988800 // seconds from 1900 to 1970
)

func samplingRate(vals []nf.DataField) uint64 {
	for _, f := range vals {
		if f.PenProvided {
			continue
		}
		switch f.Type {
		case ieSamplingInt, ieSamplerRandom, ieSamplingPkt:
			b, _ := f.Value.([]byte)
			if v := be(b); v > 0 {
				return v
			}
		}
	}
	return 0
}

// builder maps one data record's fields to a flow record.
type builder struct {
	r                        flowrec.Flow
	rate                     uint64 // the sampling interval the record itself carries
	firstUp, lastUp, sysInit uint64
	startDelta, endDelta     uint64
	hasFirstUp, hasLastUp    bool
	hasStartDelta            bool
	hasEndDelta              bool
}

// field takes one field's value.
func (x *builder) field(typ uint16, penProvided bool, pen uint32, b []byte) {
	r := &x.r
	rev := penProvided && pen == reversePEN
	if penProvided && !rev {
		return
	}
	switch typ {
	case ieOctets, ieOctetsTot:
		if rev {
			r.BytesIn = be(b)
		} else {
			r.BytesOut = be(b)
		}
	case iePackets, iePacketsTot:
		if rev {
			r.PacketsIn = be(b)
		} else {
			r.PacketsOut = be(b)
		}
	}
	if rev {
		return
	}
	switch typ {
	case ieProto:
		r.Proto = uint8(be(b))
	case ieSrcPort:
		r.DevicePort = uint16(be(b))
	case ieDstPort:
		r.PeerPort = uint16(be(b))
	case ieSrc4, ieSrc6:
		r.Device, _ = netipAddr(b)
	case ieDst4, ieDst6:
		r.Peer, _ = netipAddr(b)
	case ieStartSec:
		r.First = secs(be(b))
	case ieEndSec:
		r.Last = secs(be(b))
	case ieStartMs:
		r.First = millis(be(b))
	case ieEndMs:
		r.Last = millis(be(b))
	case ieStartUs, ieStartNs:
		r.First = ntp(be(b))
	case ieEndUs, ieEndNs:
		r.Last = ntp(be(b))
	case ieStartDeltaUs:
		x.startDelta, x.hasStartDelta = be(b), true
	case ieEndDeltaUs:
		x.endDelta, x.hasEndDelta = be(b), true
	case ieFirstUp:
		x.firstUp, x.hasFirstUp = be(b), true
	case ieLastUp:
		x.lastUp, x.hasLastUp = be(b), true
	case ieSysInitMs:
		x.sysInit = be(b)
	case ieSamplingInt, ieSamplerRandom, ieSamplingPkt:
		x.rate = be(b)
	}
}

// finish dates the record and returns it with its own sampling interval
// (0 if none).
func (x *builder) finish(tb timebase) (flowrec.Flow, uint64) {
	r := x.r
	if x.hasStartDelta {
		r.First = tb.export.Add(-time.Duration(x.startDelta) * time.Microsecond).UnixNano()
	}
	if x.hasEndDelta {
		r.Last = tb.export.Add(-time.Duration(x.endDelta) * time.Microsecond).UnixNano()
	}
	// sysUptime-relative times: v9 counts from the header's boot time;
	// IPFIX from systemInitTimeMilliseconds when the record carries it.
	up := tb
	if x.sysInit > 0 && x.sysInit < 1<<53 {
		up.boot, up.hasBoot = time.UnixMilli(int64(x.sysInit)), true
	}
	if x.hasFirstUp && r.First == 0 {
		r.First = up.uptime(x.firstUp)
	}
	if x.hasLastUp && r.Last == 0 {
		r.Last = up.uptime(x.lastUp)
	}
	return r, x.rate
}

// Bounds keep absurd times (a hostile exporter) from overflowing.
const maxSecs = 1 << 33

func secs(v uint64) int64 {
	if v == 0 || v > maxSecs {
		return 0
	}
	return int64(v) * int64(time.Second)
}

func millis(v uint64) int64 {
	if v == 0 || v > maxSecs*1000 {
		return 0
	}
	return int64(v) * int64(time.Millisecond)
}

// ntp converts a 64-bit NTP timestamp (seconds since 1900, fraction).
func ntp(v uint64) int64 {
	s := v >> 32
	if s < ntpEpochOffset || s-ntpEpochOffset > maxSecs {
		return 0
	}
	frac := (v & 0xffffffff) * uint64(time.Second) >> 32
	return int64(s-ntpEpochOffset)*int64(time.Second) + int64(frac)
}

// be reads a big-endian unsigned integer of up to 8 bytes.
func be(b []byte) uint64 {
	var v uint64
	for i, c := range b {
		if i == 8 {
			break
		}
		v = v<<8 | uint64(c)
	}
	return v
}
