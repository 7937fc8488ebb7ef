// Package ingest is the record that log sources (Zeek, Suricata EVE) hand
// to the scan pipeline: a finished conversation with the names the sensor
// saw, and DNS answers. Each format is its own small sub-package.
//
// It must never import the catalog, attribute or a sink; its only outflow
// import is the core record, internal/flowrec.
package ingest

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// Flow is one conversation as a sensor logged it: Orig opened it.
type Flow struct {
	Orig, Resp           netip.AddrPort
	Proto                uint8 // 6 TCP, 17 UDP
	OrigBytes, RespBytes uint64
	OrigPkts, RespPkts   uint64
	Start, End           time.Time
	SNI                  string // TLS server name
	QUICSNI              string
	HTTPHost             string
	CertOrg              string // certificate subject organisation
	// HTTPDNS is an HTTP request that asked an HTTP-DNS service for a
	// name, as flowrec.Flow.HTTPDNS keeps it ("GET /d?host=NAME").
	HTTPDNS string
}

// Record is the conversation as the core's flow record, Orig as the
// device; the consumer orients it (flowrec.Flow.Orient) and adds the names
// it learned from DNS.
func (r *Flow) Record() flowrec.Flow {
	f := flowrec.Flow{Device: r.Orig.Addr(), DevicePort: r.Orig.Port(), Peer: r.Resp.Addr(), PeerPort: r.Resp.Port(), Proto: r.Proto,
		BytesOut: r.OrigBytes, BytesIn: r.RespBytes, PacketsOut: r.OrigPkts, PacketsIn: r.RespPkts,
		SNI: r.SNI, QUICSNI: r.QUICSNI, HTTPHost: r.HTTPHost, CertOrg: r.CertOrg, HTTPDNS: r.HTTPDNS}
	if !r.Start.IsZero() {
		f.First = r.Start.UnixNano()
	}
	f.Last = f.First
	if !r.End.IsZero() {
		f.Last = r.End.UnixNano()
	}
	return f
}

// DNS is one answer a client received: Name resolved to Addr, asked as
// Query.
type DNS struct {
	Client netip.Addr
	Query  string
	Name   string
	Addr   netip.Addr
	TTL    uint32
	At     time.Time
}

// Sink receives records in the order the source has them.
type Sink interface {
	Flow(Flow)
	DNS(DNS)
}

// LineError is a bad line in a log: the file, the line (or, for a line
// read from a followed file, its byte offset) and why. Readers report it
// and go on.
type LineError struct {
	File   string
	Line   int   // 1-based; 0 when only Offset is known
	Offset int64 // where the line starts, when Line is 0
	Err    error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return e.File + ": offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

func (e *LineError) Unwrap() error { return e.Err }
