// Package netflow reads flow exports, NetFlow v5, v9 and IPFIX (with RFC
// 5103 biflows, whose reverse counters would otherwise be lost), into the
// core's flow records. Decoding is netsampler/goflow2's (BSD-3); this
// package keeps templates and options templates per exporter and
// observation domain (refresh, withdrawal, bounds), holds data sets that
// arrive before their template for Config.Hold and then counts them as
// dropped, scales counters by the sampling rate the exporter announced,
// and dates every record: its own start and end when it has them, else
// the export header's time, never the epoch; a record dated after its
// export is clamped to the export time and counted.
//
// A flow export names addresses and ports, never hostnames: its records are
// attributed by the address's AS only. goflow2 decodes the messages,
// templates and options data; the data records of v9 and IPFIX sets are
// read here in place (rawData), because goflow2's data-set decoder made an
// allocation per field of every record (see dataTemplate).
//
// It is a source and must never import the catalog, attribute or a sink.
package netflow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// Records are the core's flow record (internal/flowrec), the exporter's
// source as the device and its destination as the peer, not yet oriented:
// the consumer calls Orient with its inside networks. For an RFC 5103
// biflow BytesIn and PacketsIn are the reverse counters (destination to
// source); for a unidirectional record they are zero.

// Ports are the usual export destinations: NetFlow (2055, 9995, 9996) and
// IPFIX (4739).
var Ports = map[uint16]bool{2055: true, 4739: true, 9995: true, 9996: true}

// Config bounds a decoder.
type Config struct {
	// Hold is how long a data set whose template has not arrived is kept,
	// in the datagrams' own time (the at of Decode).
	Hold time.Duration
	// MaxHeld bounds the held sets of all exporters together; past it
	// the oldest is dropped.
	MaxHeld int
	// MaxExporters bounds the exporters remembered; past it the least
	// recently heard is forgotten with its templates.
	MaxExporters int
	// MaxTemplates bounds the templates one exporter may define.
	MaxTemplates int
	// Site, if set, names the site of an exporter's observation domain;
	// it goes into each record's Site.
	Site func(exporter netip.Addr, domain uint32) string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Hold: 10 * time.Second, MaxHeld: 4096, MaxExporters: 10_000, MaxTemplates: 1024}
}

// Stats counts what a decoder did, per exporter or in total.
type Stats struct {
	Datagrams  uint64
	Records    uint64 // flow records handed on
	Options    uint64 // options records read (sampling rates)
	Errors     uint64 // datagrams that did not decode, whole or in part
	NoTemplate uint64 // data sets that arrived before their template (held)
	Late       uint64 // held sets decoded when their template came
	Dropped    uint64 // held sets dropped: no template within Hold, or no room
	Future     uint64 // record times after the export time, clamped to it
	Withdrawn  uint64 // template withdrawals
	Refused    uint64 // templates refused: reserved id, no bytes, too many
}

func (s *Stats) add(o Stats) {
	s.Datagrams += o.Datagrams
	s.Records += o.Records
	s.Options += o.Options
	s.Errors += o.Errors
	s.NoTemplate += o.NoTemplate
	s.Late += o.Late
	s.Dropped += o.Dropped
	s.Future += o.Future
	s.Withdrawn += o.Withdrawn
	s.Refused += o.Refused
}

type exporter struct {
	addr     netip.AddrPort
	tmpl     *templates
	sampling map[uint32]uint64 // observation domain -> 1 in N
	seen     time.Time
	st       Stats
}

// held is a data set that came before its template.
type held struct {
	ex     *exporter
	key    uint64
	domain uint32
	data   []byte
	at     time.Time
	tb     timebase
}

// Decoder decodes export datagrams. It is safe for concurrent use.
type Decoder struct {
	cfg       Config
	mu        sync.Mutex
	exporters map[netip.AddrPort]*exporter
	held      []held
	gone      Stats // counters of forgotten exporters
}

// New returns a decoder with the default bounds.
func New() *Decoder { return NewWith(DefaultConfig()) }

// NewWith returns a decoder with cfg (zero fields take the defaults).
func NewWith(cfg Config) *Decoder {
	def := DefaultConfig()
	if cfg.Hold <= 0 {
		cfg.Hold = def.Hold
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = def.MaxHeld
	}
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = def.MaxExporters
	}
	if cfg.MaxTemplates <= 0 {
		cfg.MaxTemplates = def.MaxTemplates
	}
	return &Decoder{cfg: cfg, exporters: map[netip.AddrPort]*exporter{}}
}

// ErrNotExport is returned for datagrams of no known export version.
var ErrNotExport = errors.New("not a NetFlow v5/v9 or IPFIX datagram")

// Decode decodes one datagram from an exporter, received at at, and calls
// visit per record (the record is valid only during the call). A data set
// whose template has not been seen yet is held, not an error; it is
// decoded when the template comes, or dropped and counted after Hold.
func (d *Decoder) Decode(exporter netip.AddrPort, payload []byte, at time.Time, visit func(*flowrec.Flow)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ex := d.exporter(exporter, at)
	ex.st.Datagrams++
	d.expire(at)
	if len(payload) < 4 {
		ex.st.Errors++
		return ErrNotExport
	}
	switch binary.BigEndian.Uint16(payload) {
	case 5:
		return d.v5(ex, payload, visit)
	case 9, 10:
		return d.templated(ex, payload, at, visit)
	}
	ex.st.Errors++
	return ErrNotExport
}

func (d *Decoder) exporter(a netip.AddrPort, at time.Time) *exporter {
	ex := d.exporters[a]
	if ex == nil {
		if len(d.exporters) >= d.cfg.MaxExporters {
			var old *exporter
			for _, e := range d.exporters {
				if old == nil || e.seen.Before(old.seen) {
					old = e
				}
			}
			d.forget(old)
		}
		ex = &exporter{addr: a, tmpl: newTemplates(d.cfg.MaxTemplates), sampling: map[uint32]uint64{}}
		d.exporters[a] = ex
	}
	if at.After(ex.seen) {
		ex.seen = at
	}
	return ex
}

func (d *Decoder) forget(ex *exporter) {
	delete(d.exporters, ex.addr)
	kept := d.held[:0]
	for _, h := range d.held {
		if h.ex == ex {
			ex.st.Dropped++
			continue
		}
		kept = append(kept, h)
	}
	d.held = kept
	d.gone.add(ex.st)
}

// Expire drops the held sets older than Hold as of at (end of input: a
// time far ahead drops them all).
func (d *Decoder) Expire(at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(at)
}

func (d *Decoder) expire(at time.Time) {
	n := 0
	for n < len(d.held) && at.Sub(d.held[n].at) > d.cfg.Hold {
		d.held[n].ex.st.Dropped++
		n++
	}
	if n > 0 {
		d.held = append(d.held[:0], d.held[n:]...)
	}
}

// Total is the sum over every exporter, forgotten ones included.
func (d *Decoder) Total() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.gone
	for _, ex := range d.exporters {
		t.add(ex.st)
	}
	return t
}

// Each calls fn with each remembered exporter's counters.
func (d *Decoder) Each(fn func(exporter netip.AddrPort, s Stats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a, ex := range d.exporters {
		fn(a, ex.st)
	}
}

// Held is how many data sets wait for their template.
func (d *Decoder) Held() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.held)
}

func (d *Decoder) v5(ex *exporter, payload []byte, visit func(*flowrec.Flow)) (err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not end a scan
			ex.st.Errors++
			err = fmt.Errorf("netflow v5: malformed datagram (%v)", r)
		}
	}()
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(payload), &p); err != nil {
		ex.st.Errors++
		return fmt.Errorf("netflow v5: %w", err)
	}
	export := time.Unix(int64(p.UnixSecs), int64(p.UnixNSecs))
	tb := timebase{export: export, boot: export.Add(-time.Duration(p.SysUptime) * time.Millisecond), hasBoot: true}
	rate := uint64(p.SamplingInterval & 0x3fff)
	site := d.site(ex, uint32(p.EngineType)<<8|uint32(p.EngineId))
	f := new(flowrec.Flow) // one per message: visit must not keep it
	for _, r := range p.Records {
		*f = flowrec.Flow{
			Site:   site,
			Device: v4(uint32(r.SrcAddr)), Peer: v4(uint32(r.DstAddr)), DevicePort: r.SrcPort, PeerPort: r.DstPort, Proto: r.Proto,
			BytesOut: uint64(r.DOctets), PacketsOut: uint64(r.DPkts),
			First: tb.uptime(uint64(r.First)), Last: tb.uptime(uint64(r.Last)),
			NoDNS: true,
		}
		scale(f, rate)
		ex.st.Future += tb.settle(f)
		ex.st.Records++
		visit(f)
	}
	return nil
}

func (d *Decoder) site(ex *exporter, domain uint32) string {
	if d.cfg.Site == nil {
		return ""
	}
	return d.cfg.Site(ex.addr.Addr(), domain)
}

func v4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func netipAddr(b []byte) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(b)
	return a.Unmap(), ok
}
