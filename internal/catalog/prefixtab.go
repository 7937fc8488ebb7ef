package catalog

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"unsafe"
)

// prefixTab is the compiled catalog's longest-prefix table, read where it
// lies in the embedded bytes: the address space cut into ranges, each
// range starting at an address and carrying the value of the longest
// prefix that covers it (0: none). A lookup is a binary search over the
// starts; nothing is built at start and nothing is allocated.
//
// v4 is n records of 8 bytes (start, value: little-endian uint32); v6 is n
// records of 20 bytes (start as two little-endian uint64, high half first,
// then the value). They are views of the embedded string (readOnly), never
// written: binary.LittleEndian reads each field in one load, where the
// same reads from a string took one load a byte (a v6 lookup 162 ns
// instead of 40).
//
// i4 (bucketBounds) and i6 (a summary) narrow the search first: without
// them an IPv6 lookup was a binary search over 208 KB, about 100 ns
// against bart's 40.
type prefixTab struct {
	v4, v6 []byte
	i4, i6 []byte
}

// Buckets: IPv4 by its top 12 bits (4,096 buckets, 16 KB). IPv6 has a
// summary instead: the start of every summaryStep-th range (10 KB, where
// a binary search stays in the first-level cache), as its starts crowd
// into a few /16s (4,594 prefixes in 2409::/16).
const (
	shift4      = 20
	summaryStep = 16
)

// bucketIndex is base u32, n u32, then n+1 u32: first[i] is the number of
// ranges starting below bucket base+i. The ranges of bucket t are
// [first[t-base], first[t-base+1]); a bucket below base searches
// [0, first[0]), one past the span [first[n], all).
func bucketBounds(idx []byte, t uint64, all int) (lo, hi int) {
	le := binary.LittleEndian
	if len(idx) < 12 {
		return 0, all
	}
	base, n := uint64(le.Uint32(idx)), uint64(le.Uint32(idx[4:]))
	first := idx[8:]
	if uint64(len(first)) < 4*(n+1) {
		return 0, all
	}
	switch {
	case t < base:
		lo, hi = 0, int(le.Uint32(first))
	case t-base >= n:
		lo, hi = int(le.Uint32(first[4*n:])), all
	default:
		lo, hi = int(le.Uint32(first[4*(t-base):])), int(le.Uint32(first[4*(t-base+1):]))
	}
	if lo > hi || hi > all {
		return 0, all // a corrupt index: search everything
	}
	return lo, hi
}

// appendBucketIndex writes the index of ranges whose starts' bucket
// numbers are tops (ascending).
func appendBucketIndex(dst []byte, tops []uint64) []byte {
	if len(tops) == 0 {
		return dst
	}
	// Record 0 starts at address 0; the span starts at the second
	// record's bucket.
	base, last := tops[0], tops[len(tops)-1]
	if len(tops) > 1 {
		base = tops[1]
	}
	n := last - base + 1
	dst = binary.LittleEndian.AppendUint32(dst, uint32(base))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	j := 0
	for b := base; b <= base+n; b++ {
		for j < len(tops) && tops[j] < b {
			j++
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(j))
	}
	return dst
}

// readOnly is a byte view of s without a copy, for reading only: s is the
// embedded blob, in read-only memory.
func readOnly(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

const (
	rec4 = 8
	rec6 = 20
)

func le32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// lookup returns the value of the longest prefix holding a (unmapped), or 0.
// The searches are written without a branch on the comparison (the
// compiler makes a conditional move of it): the outcome of each step is a
// coin toss that a branch predictor loses half the time.
func (t *prefixTab) lookup(a netip.Addr) uint32 {
	le := binary.LittleEndian
	if a.Is4() {
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		lo, hi := bucketBounds(t.i4, uint64(x>>shift4), len(t.v4)/rec4)
		// The last range of [lo-1, hi) whose start is not above x: the
		// range before the bucket starts below it, and so does record 0.
		base, n := max(lo-1, 0), hi-max(lo-1, 0)
		if n <= 0 {
			return 0
		}
		for n > 1 {
			half := n >> 1
			if le.Uint32(t.v4[(base+half)*rec4:]) <= x {
				base += half
			}
			n -= half
		}
		if le.Uint32(t.v4[base*rec4:]) > x {
			return 0
		}
		return le.Uint32(t.v4[base*rec4+4:])
	}
	b := a.As16()
	xh, xl := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	le6 := func(s []byte, i, w int) bool { // start i of s (w bytes a record) <= x
		r := s[i*w:]
		sh := le.Uint64(r)
		return sh < xh || sh == xh && le.Uint64(r[8:]) <= xl
	}
	n6 := len(t.v6) / rec6
	base, n := 0, n6
	// The summary first (IPv6 starts crowd into a few /16s, where buckets
	// do not help): the last block of summaryStep ranges whose first start
	// is not above x, then the ranges of that block.
	if ns := len(t.i6) / 16; ns > 0 && (ns-1)*summaryStep < n6 {
		sb, sn := 0, ns
		for sn > 1 {
			half := sn >> 1
			if le6(t.i6, sb+half, 16) {
				sb += half
			}
			sn -= half
		}
		base, n = sb*summaryStep, min(summaryStep, n6-sb*summaryStep)
	}
	if n <= 0 {
		return 0
	}
	for n > 1 {
		half := n >> 1
		if le6(t.v6, base+half, rec6) {
			base += half
		}
		n -= half
	}
	if !le6(t.v6, base, rec6) {
		return 0
	}
	return le.Uint32(t.v6[base*rec6+16:])
}

// prefixVal is one prefix of the table being built and its value (not 0).
type prefixVal struct {
	p netip.Prefix
	v uint32
}

// buildRanges flattens prefixes of one family, nested or apart, into
// ranges: each start with the value of the longest prefix covering it.
// Equal prefixes must not be given twice.
func buildRanges(ps []prefixVal) (starts []netip.Addr, vals []uint32) {
	if len(ps) == 0 {
		return nil, nil
	}
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].p.Addr().Compare(ps[j].p.Addr()); c != 0 {
			return c < 0
		}
		return ps[i].p.Bits() < ps[j].p.Bits()
	})
	emit := func(at netip.Addr, v uint32) {
		if n := len(starts); n > 0 && starts[n-1] == at {
			vals[n-1] = v
			if n > 1 && vals[n-2] == v {
				starts, vals = starts[:n-1], vals[:n-1]
			}
			return
		}
		if n := len(vals); n > 0 && vals[n-1] == v {
			return
		}
		starts, vals = append(starts, at), append(vals, v)
	}
	zero := netip.IPv4Unspecified()
	if ps[0].p.Addr().Is6() {
		zero = netip.IPv6Unspecified()
	}
	emit(zero, 0)
	var stack []prefixVal
	top := func() uint32 {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1].v
	}
	pop := func() {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if next := lastAddr(t.p).Next(); next.IsValid() {
			emit(next, top())
		}
	}
	for _, x := range ps {
		for len(stack) > 0 && lastAddr(stack[len(stack)-1].p).Less(x.p.Addr()) {
			pop()
		}
		emit(x.p.Addr(), x.v)
		stack = append(stack, x)
	}
	for len(stack) > 0 {
		pop()
	}
	return starts, vals
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// rangeTab is the table of flattened ranges of both families with their
// indexes: v4, v6, i4, i6.
func rangeTab(s4 []netip.Addr, v4 []uint32, s6 []netip.Addr, v6 []uint32) prefixTab {
	tops := func(starts []netip.Addr) []uint64 {
		out := make([]uint64, len(starts))
		for i, a := range starts {
			b := a.As4()
			out[i] = uint64(binary.BigEndian.Uint32(b[:]) >> shift4)
		}
		return out
	}
	var i6 []byte
	for i := 0; i < len(s6); i += summaryStep {
		b := s6[i].As16()
		i6 = binary.LittleEndian.AppendUint64(i6, binary.BigEndian.Uint64(b[:8]))
		i6 = binary.LittleEndian.AppendUint64(i6, binary.BigEndian.Uint64(b[8:]))
	}
	return prefixTab{v4: appendRanges(nil, s4, v4), v6: appendRanges(nil, s6, v6),
		i4: appendBucketIndex(nil, tops(s4)), i6: i6}
}

// appendRanges writes ranges in prefixTab's layout.
func appendRanges(dst []byte, starts []netip.Addr, vals []uint32) []byte {
	for i, a := range starts {
		if a.Is4() {
			b := a.As4()
			dst = binary.LittleEndian.AppendUint32(dst, binary.BigEndian.Uint32(b[:]))
		} else {
			b := a.As16()
			dst = binary.LittleEndian.AppendUint64(dst, binary.BigEndian.Uint64(b[:8]))
			dst = binary.LittleEndian.AppendUint64(dst, binary.BigEndian.Uint64(b[8:]))
		}
		dst = binary.LittleEndian.AppendUint32(dst, vals[i])
	}
	return dst
}
