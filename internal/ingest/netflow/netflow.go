// Package netflow reads flow exports, NetFlow v5, v9 and IPFIX (with RFC
// 5103 biflows, whose reverse counters would otherwise be lost), into flow
// records for the scan pipeline. Decoding is netsampler/goflow2's (BSD-3);
// this package keeps templates per exporter and maps the information
// elements outflow needs.
//
// A flow export names addresses and ports, never hostnames: its records are
// attributed by the address's AS only.
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

	nf "github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// Record is one exported flow. For a biflow the reverse counters are from
// Dst to Src; for a unidirectional record they are zero.
type Record struct {
	Src, Dst          netip.Addr
	SrcPort, DstPort  uint16
	Proto             uint8
	Bytes, Packets    uint64
	RevBytes, RevPkts uint64
	Start, End        time.Time
}

// Ports are the usual export destinations: NetFlow (2055, 9995, 9996) and
// IPFIX (4739).
var Ports = map[uint16]bool{2055: true, 4739: true, 9995: true, 9996: true}

// Decoder decodes export datagrams; it keeps the templates each exporter
// sent. It is safe for concurrent use.
type Decoder struct {
	mu        sync.Mutex
	templates map[netip.AddrPort]nf.NetFlowTemplateSystem
	// Stats
	Datagrams, Records, Errors, NoTemplate uint64
}

// New returns a decoder.
func New() *Decoder { return &Decoder{templates: map[netip.AddrPort]nf.NetFlowTemplateSystem{}} }

// ErrNotExport is returned for datagrams of no known export version.
var ErrNotExport = errors.New("not a NetFlow v5/v9 or IPFIX datagram")

// Decode decodes one datagram from an exporter and calls visit per record.
// A datagram whose template has not been seen yet is counted and skipped
// (exporters resend templates), not an error.
func (d *Decoder) Decode(exporter netip.AddrPort, payload []byte, visit func(Record)) error {
	if len(payload) < 4 {
		return ErrNotExport
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Datagrams++
	switch binary.BigEndian.Uint16(payload) {
	case 5:
		return d.v5(payload, visit)
	case 9, 10:
		return d.templated(exporter, payload, visit)
	}
	d.Errors++
	return ErrNotExport
}

func (d *Decoder) v5(payload []byte, visit func(Record)) (err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not end a scan
			d.Errors++
			err = fmt.Errorf("netflow v5: malformed datagram (%v)", r)
		}
	}()
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(payload), &p); err != nil {
		d.Errors++
		return fmt.Errorf("netflow v5: %w", err)
	}
	boot := time.Unix(int64(p.UnixSecs), int64(p.UnixNSecs)).Add(-time.Duration(p.SysUptime) * time.Millisecond)
	for _, r := range p.Records {
		d.Records++
		visit(Record{
			Src: v4(uint32(r.SrcAddr)), Dst: v4(uint32(r.DstAddr)), SrcPort: r.SrcPort, DstPort: r.DstPort, Proto: r.Proto,
			Bytes: uint64(r.DOctets), Packets: uint64(r.DPkts),
			Start: boot.Add(time.Duration(r.First) * time.Millisecond), End: boot.Add(time.Duration(r.Last) * time.Millisecond),
		})
	}
	return nil
}

func v4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// Information elements (IANA IPFIX registry; the same numbers in v9).
const (
	ieOctets     = 1
	iePackets    = 2
	ieProto      = 4
	ieSrcPort    = 7
	ieSrc4       = 8
	ieDstPort    = 11
	ieDst4       = 12
	ieSrc6       = 27
	ieDst6       = 28
	ieLastUp     = 21 // v9 sysUptime of last packet (ms)
	ieFirstUp    = 22
	ieStartSec   = 150
	ieEndSec     = 151
	ieStartMs    = 152
	ieEndMs      = 153
	ieOctetsTot  = 85
	iePacketsTot = 86
	reversePEN   = 29305 // RFC 5103: reverse information elements
)

func (d *Decoder) templated(exporter netip.AddrPort, payload []byte, visit func(Record)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			d.Errors++
			err = fmt.Errorf("netflow: malformed datagram (%v)", r)
		}
	}()
	ts := d.templates[exporter]
	if ts == nil {
		if len(d.templates) > 10000 {
			clear(d.templates)
		}
		ts = nf.CreateTemplateSystem()
		d.templates[exporter] = ts
	}
	var v9 nf.NFv9Packet
	var ipfix nf.IPFIXPacket
	err = nf.DecodeMessageVersion(bytes.NewBuffer(payload), ts, &v9, &ipfix)
	sets := ipfix.FlowSets
	var base time.Time
	if v9.Version == 9 {
		sets = v9.FlowSets
		base = time.Unix(int64(v9.UnixSeconds), 0).Add(-time.Duration(v9.SystemUptime) * time.Millisecond)
	}
	for _, s := range sets {
		ds, ok := s.(nf.DataFlowSet)
		if !ok {
			continue
		}
		for _, rec := range ds.Records {
			d.Records++
			visit(record(rec, base))
		}
	}
	if err != nil {
		var te *nf.FlowError
		if errors.As(err, &te) && errors.Is(err, nf.ErrorTemplateNotFound) {
			d.NoTemplate++
			return nil
		}
		if errors.Is(err, nf.ErrorTemplateNotFound) {
			d.NoTemplate++
			return nil
		}
		d.Errors++
		return fmt.Errorf("netflow: %w", err)
	}
	return nil
}

func record(rec nf.DataRecord, base time.Time) Record {
	var r Record
	for _, f := range rec.Values {
		b, _ := f.Value.([]byte)
		rev := f.PenProvided && f.Pen == reversePEN
		if f.PenProvided && !rev {
			continue
		}
		switch f.Type {
		case ieOctets, ieOctetsTot:
			if rev {
				r.RevBytes = be(b)
			} else {
				r.Bytes = be(b)
			}
		case iePackets, iePacketsTot:
			if rev {
				r.RevPkts = be(b)
			} else {
				r.Packets = be(b)
			}
		}
		if rev {
			continue
		}
		switch f.Type {
		case ieProto:
			r.Proto = uint8(be(b))
		case ieSrcPort:
			r.SrcPort = uint16(be(b))
		case ieDstPort:
			r.DstPort = uint16(be(b))
		case ieSrc4, ieSrc6:
			r.Src, _ = netip.AddrFromSlice(b)
		case ieDst4, ieDst6:
			r.Dst, _ = netip.AddrFromSlice(b)
		case ieStartSec:
			r.Start = time.Unix(int64(be(b)), 0)
		case ieEndSec:
			r.End = time.Unix(int64(be(b)), 0)
		case ieStartMs:
			r.Start = time.UnixMilli(int64(be(b)))
		case ieEndMs:
			r.End = time.UnixMilli(int64(be(b)))
		case ieFirstUp:
			if !base.IsZero() {
				r.Start = base.Add(time.Duration(be(b)) * time.Millisecond)
			}
		case ieLastUp:
			if !base.IsZero() {
				r.End = base.Add(time.Duration(be(b)) * time.Millisecond)
			}
		}
	}
	return r
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
