// Package sflow decodes sFlow v5 datagrams (on goflow2's decoder) and
// hands each flow sample's sampled packet header, decoded by
// internal/capture/decode, to a visitor with its frame length and
// sampling rate, so that sampled packets go through the same tracking
// and attribution as captured ones. Counter samples are counted and
// ignored. It counts per exporter (the UDP source) what it saw.
//
// It must never import the catalog, attribute, the store or a command.
package sflow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
	gsflow "github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// Config bounds the decoder.
type Config struct {
	// MaxExporters bounds the per-exporter counters; past it a new
	// exporter is counted in the totals only.
	MaxExporters int
	// Site, if set, names the site of an exporter (its UDP source
	// address) and sub-agent; it goes into each Sample's Site.
	Site func(exporter netip.Addr, subAgent uint32) string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxExporters: 10_000} }

// Stats counts what a decoder did, per exporter or in total.
type Stats struct {
	Datagrams uint64
	Samples   uint64 // flow samples (standard and expanded)
	Headers   uint64 // sampled packet headers handed on
	Counters  uint64 // counter samples, ignored
	Other     uint64 // drop samples and flow records other than a raw header, ignored
	NotIP     uint64 // raw headers of another protocol, or that did not decode
	Errors    uint64 // datagrams that did not decode, whole or in part
}

func (s *Stats) add(o Stats) {
	s.Datagrams += o.Datagrams
	s.Samples += o.Samples
	s.Headers += o.Headers
	s.Counters += o.Counters
	s.Other += o.Other
	s.NotIP += o.NotIP
	s.Errors += o.Errors
}

// Sample is one sampled packet. It and its Packet are valid only during
// the visitor's call.
type Sample struct {
	Exporter netip.AddrPort // the datagram's UDP source
	Agent    netip.Addr     // the agent address in the datagram
	SubAgent uint32
	Site     string
	Packet   *decode.Packet
	FrameLen int    // the packet's length on the wire, not the header's
	Rate     uint64 // 1 in Rate packets was sampled (at least 1)
	At       time.Time
}

// Header protocols of a raw packet header record (sFlow v5 spec,
// header_protocol) that the decoder reads.
const (
	protoEthernet = 1
	protoIPv4     = 11
	protoIPv6     = 12
)

// Decoder decodes sFlow v5 datagrams. It is safe for concurrent use.
type Decoder struct {
	cfg          Config
	mu           sync.Mutex
	exporters    map[netip.AddrPort]*Stats
	gone         Stats // exporters past MaxExporters
	eth, ip4, v6 *decode.Decoder
	pkt          decode.Packet
	smp          Sample
}

// New returns a decoder.
func New(cfg Config) *Decoder {
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = DefaultConfig().MaxExporters
	}
	d := &Decoder{cfg: cfg, exporters: map[netip.AddrPort]*Stats{}}
	d.eth, _ = decode.New(layers.LinkTypeEthernet)
	d.ip4, _ = decode.New(layers.LinkTypeIPv4)
	d.v6, _ = decode.New(layers.LinkTypeIPv6)
	return d
}

// IsSFlow says whether a datagram claims to be sFlow v5 (a 32-bit
// version 5, where NetFlow and IPFIX have a 16-bit one).
func IsSFlow(b []byte) bool {
	return len(b) >= 4 && binary.BigEndian.Uint32(b) == 5
}

// ErrTooManyRecords rejects a sample whose record count goflow2 would
// allocate unchecked.
var ErrTooManyRecords = errors.New("too many flow records in a sample")

// Decode decodes one datagram from exporter, received at at, and calls
// visit with each sampled packet header that decodes as IP. visit runs
// under the decoder's lock: it must not call the decoder.
func (d *Decoder) Decode(exporter netip.AddrPort, b []byte, at time.Time, visit func(*Sample)) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stats(exporter)
	st.Datagrams++
	defer func() {
		// goflow2 is third-party code on hostile input: a panic there is
		// a bad datagram, counted, not the end of the sensor
		if r := recover(); r != nil {
			err = fmt.Errorf("sflow: decoder panic: %v", r)
		}
		if err != nil {
			st.Errors++
		}
	}()
	if err := precheck(b); err != nil {
		return fmt.Errorf("sflow: %w", err)
	}
	var msg gsflow.Packet
	if err := gsflow.DecodeMessageVersion(bytes.NewBuffer(b), &msg); err != nil {
		return fmt.Errorf("sflow: %w", err)
	}
	agent, _ := netip.AddrFromSlice(msg.AgentIP)
	site := ""
	if d.cfg.Site != nil {
		site = d.cfg.Site(exporter.Addr(), msg.SubAgentId)
	}
	d.smp = Sample{Exporter: exporter, Agent: agent.Unmap(), SubAgent: msg.SubAgentId, Site: site, Packet: &d.pkt, At: at}
	for _, s := range msg.Samples {
		switch s := s.(type) {
		case gsflow.FlowSample:
			st.Samples++
			d.records(st, s.SamplingRate, s.Records, visit)
		case gsflow.ExpandedFlowSample:
			st.Samples++
			d.records(st, s.SamplingRate, s.Records, visit)
		case gsflow.CounterSample:
			st.Counters++
		case nil:
			// a sample past the datagram's end: goflow2 stops there
		default:
			st.Other++
		}
	}
	return nil
}

func (d *Decoder) records(st *Stats, rate uint32, recs []gsflow.FlowRecord, visit func(*Sample)) {
	for _, r := range recs {
		h, ok := r.Data.(gsflow.SampledHeader)
		if !ok {
			if r.Data != nil {
				st.Other++
			}
			continue
		}
		var dec *decode.Decoder
		switch h.Protocol {
		case protoEthernet:
			dec = d.eth
		case protoIPv4:
			dec = d.ip4
		case protoIPv6:
			dec = d.v6
		default:
			st.NotIP++
			continue
		}
		data := h.HeaderData
		if int(h.OriginalLength) < len(data) {
			data = data[:h.OriginalLength] // the opaque's length; the rest is XDR padding
		}
		if dec.Decode(data, &d.pkt) != nil || d.pkt.ARP { // a switch's sampled ARP says no more of one link than another
			st.NotIP++
			continue
		}
		st.Headers++
		d.smp.FrameLen = int(h.FrameLength)
		if d.smp.FrameLen < len(data) {
			d.smp.FrameLen = len(data)
		}
		d.smp.Rate = max(uint64(rate), 1)
		visit(&d.smp)
	}
}

func (d *Decoder) stats(a netip.AddrPort) *Stats {
	if st := d.exporters[a]; st != nil {
		return st
	}
	if len(d.exporters) >= d.cfg.MaxExporters {
		return &d.gone
	}
	st := &Stats{}
	d.exporters[a] = st
	return st
}

// precheck walks the datagram's sample headers and refuses an expanded
// flow sample with more than 1000 records, which goflow2 (v2.2.6)
// allocates before reading any: 2^32 of them would end the process.
func precheck(b []byte) error {
	u32 := func(off int) (uint32, bool) {
		if off < 0 || off+4 > len(b) {
			return 0, false
		}
		return binary.BigEndian.Uint32(b[off:]), true
	}
	ipv, ok := u32(4)
	if !ok {
		return nil // goflow2 reports the short datagram
	}
	off := 8
	switch ipv {
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return nil
	}
	n, ok := u32(off + 12)
	if !ok {
		return nil
	}
	off += 16
	for i := uint32(0); i < n && i < 1000; i++ {
		format, ok1 := u32(off)
		length, ok2 := u32(off + 4)
		if !ok1 || !ok2 {
			return nil
		}
		off += 8
		if uint64(length) > uint64(len(b)-off) {
			return nil
		}
		if format == gsflow.SAMPLE_FORMAT_EXPANDED_FLOW {
			if c, ok := u32(off + 40); ok && off+44 <= off+int(length) && c > 1000 {
				return ErrTooManyRecords
			}
		}
		off += int(length)
	}
	return nil
}

// Total is the counters over every exporter.
func (d *Decoder) Total() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.gone
	for _, st := range d.exporters {
		t.add(*st)
	}
	return t
}

// Each calls fn with each remembered exporter's counters.
func (d *Decoder) Each(fn func(exporter netip.AddrPort, s Stats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a, st := range d.exporters {
		fn(a, *st)
	}
}
