// Package querylog records every query the resolver answers: who asked
// (client, group), what (name, type), what happened (answer code, verdict,
// rule, entity, why) and how fast. Entries go through a bounded, batching
// Logger to one or more Sinks: JSON lines here (with size and age bounds),
// an in-memory sink for tests, and the embedded SQLite store elsewhere.
// Under overload the Logger either waits (backpressure) or sheds, and then
// writes how many entries it shed into the log itself, in front of the
// next batch in the same write, so that the count is as durable as the
// entries: it never drops silently, not even across a kill -9.
//
// Log does not allocate. It must never import the resolver, a command
// package or the store (the wire package, a leaf, presents names).
package querylog

import (
	"net/netip"
	"time"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// Entry is one query. Strings other than the name are shared constants or
// policy and catalog ids, so an Entry is filled without allocating.
type Entry struct {
	Time     time.Time
	Client   netip.Addr
	Proto    string // udp, tcp, dot, doh
	Group    string // the client's first group in the policy, or ""
	Type     uint16
	RCode    uint16
	Verdict  string // allow, monitor, due, block; "" for queries refused before the policy (rate limit, malformed)
	Rule     string
	Entity   string    // the entity behind the name (or the matched CNAME/address)
	Reason   string    // what matched: qname, cname, target, address
	Deadline time.Time // the rule's effective time, for due and block
	Latency  time.Duration
	Cached   bool
	Stale    bool
	// Shed, in an entry written by the Logger itself, is how many entries
	// were shed since the previous such entry; the other fields are empty.
	Shed uint64

	name    [255]byte
	nameLen uint8
	isWire  bool // name holds the wire form, presented when read
}

// SetName stores the queried name (presentation form, no trailing dot).
func (e *Entry) SetName(b []byte) {
	e.nameLen = uint8(copy(e.name[:], b))
	e.isWire = false
}

// SetWireName stores the queried name in wire form (at most 255 bytes, as
// a query carries it), for names whose presentation form has escapes: it
// may be up to four times as long, and is made when the entry is read.
func (e *Entry) SetWireName(w []byte) {
	e.nameLen = uint8(copy(e.name[:], w))
	e.isWire = true
}

// AppendName appends the queried name in presentation form: a name set by
// SetWireName with the escapes of wire.AppendName (www\.tiktok.com for
// the labels [www.tiktok][com], \DDD for other bytes), so that two names
// never read alike.
func (e *Entry) AppendName(dst []byte) []byte {
	if e.isWire {
		dst, _ = wire.AppendName(dst, e.name[:e.nameLen])
		return dst
	}
	return append(dst, e.name[:e.nameLen]...)
}

// NameBytes is the queried name in presentation form; it aliases the
// entry, except for a name set by SetWireName.
func (e *Entry) NameBytes() []byte {
	if e.isWire {
		return e.AppendName(nil)
	}
	return e.name[:e.nameLen]
}

// Name is the queried name as a string.
func (e *Entry) Name() string { return string(e.NameBytes()) }

// copyTo copies e into d, of the name only its bytes: the logger's ring
// holds thousands of entries, and most names use a few of the name's 255
// bytes (a whole-struct copy moves seven cache lines, this one three).
// d's name bytes past the length may keep an older name's; nothing reads
// them.
func (e *Entry) copyTo(d *Entry) {
	d.Time, d.Client, d.Proto, d.Group = e.Time, e.Client, e.Proto, e.Group
	d.Type, d.RCode, d.Verdict, d.Rule = e.Type, e.RCode, e.Verdict, e.Rule
	d.Entity, d.Reason, d.Deadline, d.Latency = e.Entity, e.Reason, e.Deadline, e.Latency
	d.Cached, d.Stale, d.Shed = e.Cached, e.Stale, e.Shed
	d.nameLen, d.isWire = e.nameLen, e.isWire
	copy(d.name[:e.nameLen], e.name[:e.nameLen])
}

// Reset empties e without clearing the name's 255 bytes, only its length:
// the resolver refills one entry a query.
func (e *Entry) Reset() {
	e.Time, e.Client, e.Proto, e.Group = time.Time{}, netip.Addr{}, "", ""
	e.Type, e.RCode, e.Verdict, e.Rule = 0, 0, "", ""
	e.Entity, e.Reason, e.Deadline, e.Latency = "", "", time.Time{}, 0
	e.Cached, e.Stale, e.Shed = false, false, 0
	e.nameLen, e.isWire = 0, false
}
