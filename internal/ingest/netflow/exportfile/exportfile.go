// Package exportfile reads the flow-export datagrams (UDP to the NetFlow and
// IPFIX ports) out of a packet capture with the project's pcap reader, so
// that tests and benchmarks can replay a real exporter's traffic to a
// collector.
//
// It must never import the catalog, attribute, a sink or a command.
package exportfile

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/pcapfile"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/ingest/netflow"
)

// Datagram is one export datagram as captured.
type Datagram struct {
	From    netip.AddrPort // the exporter
	To      netip.AddrPort
	At      time.Time
	Payload []byte
}

// Read returns the export datagrams of the capture at path, in order.
func Read(path string) ([]Datagram, error) {
	r, err := pcapfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var (
		out []Datagram
		dec *decode.Decoder
		p   decode.Packet
	)
	for {
		data, ci, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if dec == nil {
			if dec, err = decode.New(r.LinkType()); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		if dec.Decode(data, &p) != nil || p.Proto != flowrec.UDP || !netflow.Ports[p.DstPort] {
			continue
		}
		out = append(out, Datagram{From: netip.AddrPortFrom(p.Src, p.SrcPort), To: netip.AddrPortFrom(p.Dst, p.DstPort),
			At: ci.Timestamp, Payload: append([]byte(nil), p.Payload...)})
	}
}
