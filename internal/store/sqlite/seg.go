package sqlite

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// A segment is the detail rows of one device (or client) and hour of one
// batch, concatenated. Each row is a sequence of varints in a fixed order;
// strings are dictionary ids. Readers decode the segments the (dev, h)
// index or a rollup points them to and filter in Go.

var errSeg = errors.New("corrupt segment")

// flowRec is a flow row as stored: ids instead of strings.
type flowRec struct {
	first, last                                           int64 // Unix ms
	ent, role, name, host, hc, verdict, rule, source, grp int64
	proto                                                 int64
	port                                                  uint16
	peer                                                  netip.Addr
	peerText                                              string // when Peer is not an address
	bo, bi, po, pi, n                                     uint64
}

// queryRec is a query row as stored.
type queryRec struct {
	t                                            int64 // Unix ms
	name, verdict, rule, ent, reason, grp, proto int64
	typ, rcode                                   uint16
	deadline                                     int64 // Unix ms, 0 none
	latencyUS                                    uint64
	cached                                       bool
}

func putU(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func putI(b []byte, v int64) []byte  { return binary.AppendVarint(b, v) }

func appendFlow(b []byte, base int64, r *flowRec) []byte {
	b = putI(b, r.first-base)
	b = putU(b, uint64(max(r.last-r.first, 0)))
	for _, id := range [...]int64{r.ent, r.role, r.name, r.host, r.hc, r.verdict, r.rule, r.source, r.grp, r.proto} {
		b = putU(b, uint64(id))
	}
	b = putU(b, uint64(r.port))
	switch {
	case r.peer.Is4():
		a := r.peer.As4()
		b = append(b, 4)
		b = append(b, a[:]...)
	case r.peer.IsValid():
		a := r.peer.As16()
		b = append(b, 16)
		b = append(b, a[:]...)
	default:
		b = append(b, 1)
		b = putU(b, uint64(len(r.peerText)))
		b = append(b, r.peerText...)
	}
	for _, c := range [...]uint64{r.bo, r.bi, r.po, r.pi, r.n} {
		b = putU(b, c)
	}
	return b
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) u() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) i() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.err = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// scanSeg calls fn for each row of a segment, which read decodes into a
// record reused between calls; fn returns false to stop. read returns false
// (or leaves r.err set) on a corrupt row.
func scanSeg[R any](data []byte, base int64, read func(r *reader, base int64, rec *R) bool, fn func(*R) bool) error {
	r := reader{b: data}
	var rec R
	for len(r.b) > 0 {
		var zero R
		rec = zero
		if !read(&r, base, &rec) || r.err {
			return errSeg
		}
		if !fn(&rec) {
			return nil
		}
	}
	return nil
}

// decodeFlows calls fn for each row of a flow segment; fn returns false to
// stop. The record is reused between calls.
func decodeFlows(data []byte, base int64, fn func(*flowRec) bool) error {
	return scanSeg(data, base, readFlow, fn)
}

// decodeQueries calls fn for each row of a query segment.
func decodeQueries(data []byte, base int64, fn func(*queryRec) bool) error {
	return scanSeg(data, base, readQuery, fn)
}

func readFlow(r *reader, base int64, f *flowRec) bool {
	f.first = base + r.i()
	f.last = f.first + int64(r.u())
	for _, p := range [...]*int64{&f.ent, &f.role, &f.name, &f.host, &f.hc, &f.verdict, &f.rule, &f.source, &f.grp, &f.proto} {
		*p = int64(r.u())
	}
	f.port = uint16(r.u())
	k := r.bytes(1)
	if r.err {
		return false
	}
	switch k[0] {
	case 4:
		b := r.bytes(4)
		if r.err {
			return false
		}
		f.peer = netip.AddrFrom4([4]byte(b))
	case 16:
		b := r.bytes(16)
		if r.err {
			return false
		}
		f.peer = netip.AddrFrom16([16]byte(b))
	case 1:
		f.peerText = string(r.bytes(int(r.u())))
	default:
		return false
	}
	for _, p := range [...]*uint64{&f.bo, &f.bi, &f.po, &f.pi, &f.n} {
		*p = r.u()
	}
	return true
}

func appendQuery(b []byte, base int64, q *queryRec) []byte {
	b = putI(b, q.t-base)
	for _, id := range [...]int64{q.name, q.verdict, q.rule, q.ent, q.reason, q.grp, q.proto} {
		b = putU(b, uint64(id))
	}
	b = putU(b, uint64(q.typ))
	b = putU(b, uint64(q.rcode))
	b = putI(b, q.deadline)
	b = putU(b, q.latencyUS)
	var fl uint64
	if q.cached {
		fl |= 1
	}
	return putU(b, fl)
}

func readQuery(r *reader, base int64, q *queryRec) bool {
	q.t = base + r.i()
	for _, p := range [...]*int64{&q.name, &q.verdict, &q.rule, &q.ent, &q.reason, &q.grp, &q.proto} {
		*p = int64(r.u())
	}
	q.typ = uint16(r.u())
	q.rcode = uint16(r.u())
	q.deadline = r.i()
	q.latencyUS = r.u()
	q.cached = r.u()&1 != 0
	return true
}
