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
		switch s := s.(type) {
		case nf.DataFlowSet:
			d.data(ex, s.Records, domain, site, tb, visit)
		case nf.RawFlowSet:
			if _, terr := ex.tmpl.GetTemplate(version, domain, s.Id); terr == nil || s.Id < 256 {
				continue // decoded badly, not missing: counted below
			}
			ex.st.NoTemplate++
			if len(d.held) >= d.cfg.MaxHeld {
				d.held[0].ex.st.Dropped++
				d.held = append(d.held[:0], d.held[1:]...)
			}
			d.held = append(d.held, held{ex: ex, key: tkey(version, domain, s.Id), domain: domain,
				data: append([]byte(nil), s.Records...), at: at, tb: tb})
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

func (d *Decoder) data(ex *exporter, recs []nf.DataRecord, domain uint32, site string, tb timebase, visit func(*flowrec.Flow)) {
	f := new(flowrec.Flow) // one per set: visit must not keep it
	for _, rec := range recs {
		var rate uint64
		*f, rate = record(rec, tb)
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
}

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
		tr, ok := t.(nf.TemplateRecord)
		if !ok {
			continue // options data late: the rate it carried is stale
		}
		recs, err := nf.DecodeDataSet(version, bytes.NewBuffer(h.data), tr.Fields)
		if err != nil {
			ex.st.Errors++
		}
		ex.st.Late++
		d.data(ex, recs, h.domain, d.site(ex, h.domain), h.tb, visit)
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

// record maps one data record; rate is the sampling interval the record
// itself carries (0 if none).
func record(rec nf.DataRecord, tb timebase) (r flowrec.Flow, rate uint64) {
	var firstUp, lastUp, sysInit uint64
	var hasFirstUp, hasLastUp bool
	for _, f := range rec.Values {
		b, _ := f.Value.([]byte)
		rev := f.PenProvided && f.Pen == reversePEN
		if f.PenProvided && !rev {
			continue
		}
		switch f.Type {
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
			continue
		}
		switch f.Type {
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
			r.First = tb.export.Add(-time.Duration(be(b)) * time.Microsecond).UnixNano()
		case ieEndDeltaUs:
			r.Last = tb.export.Add(-time.Duration(be(b)) * time.Microsecond).UnixNano()
		case ieFirstUp:
			firstUp, hasFirstUp = be(b), true
		case ieLastUp:
			lastUp, hasLastUp = be(b), true
		case ieSysInitMs:
			sysInit = be(b)
		case ieSamplingInt, ieSamplerRandom, ieSamplingPkt:
			rate = be(b)
		}
	}
	// sysUptime-relative times: v9 counts from the header's boot time;
	// IPFIX from systemInitTimeMilliseconds when the record carries it.
	up := tb
	if sysInit > 0 && sysInit < 1<<53 {
		up.boot, up.hasBoot = time.UnixMilli(int64(sysInit)), true
	}
	if hasFirstUp && r.First == 0 {
		r.First = up.uptime(firstUp)
	}
	if hasLastUp && r.Last == 0 {
		r.Last = up.uptime(lastUp)
	}
	return r, rate
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
