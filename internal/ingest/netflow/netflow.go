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
func (d *Decoder) Decode(exporter netip.AddrPort, payload []byte, visit func(*flowrec.Flow)) error {
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

func (d *Decoder) v5(payload []byte, visit func(*flowrec.Flow)) (err error) {
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
		f := flowrec.Flow{
			Device: v4(uint32(r.SrcAddr)), Peer: v4(uint32(r.DstAddr)), DevicePort: r.SrcPort, PeerPort: r.DstPort, Proto: r.Proto,
			BytesOut: uint64(r.DOctets), PacketsOut: uint64(r.DPkts),
			First: boot.Add(time.Duration(r.First) * time.Millisecond).UnixNano(), Last: boot.Add(time.Duration(r.Last) * time.Millisecond).UnixNano(),
		}
		visit(&f)
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

func (d *Decoder) templated(exporter netip.AddrPort, payload []byte, visit func(*flowrec.Flow)) (err error) {
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
			f := record(rec, base)
			visit(&f)
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

func record(rec nf.DataRecord, base time.Time) flowrec.Flow {
	var r flowrec.Flow
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
			r.Device, _ = netip.AddrFromSlice(b)
		case ieDst4, ieDst6:
			r.Peer, _ = netip.AddrFromSlice(b)
		case ieStartSec:
			r.First = time.Unix(int64(be(b)), 0).UnixNano()
		case ieEndSec:
			r.Last = time.Unix(int64(be(b)), 0).UnixNano()
		case ieStartMs:
			r.First = time.UnixMilli(int64(be(b))).UnixNano()
		case ieEndMs:
			r.Last = time.UnixMilli(int64(be(b))).UnixNano()
		case ieFirstUp:
			if !base.IsZero() {
				r.First = base.Add(time.Duration(be(b)) * time.Millisecond).UnixNano()
			}
		case ieLastUp:
			if !base.IsZero() {
				r.Last = base.Add(time.Duration(be(b)) * time.Millisecond).UnixNano()
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
