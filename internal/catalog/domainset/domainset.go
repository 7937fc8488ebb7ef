// Package domainset is the domain-name matcher of the catalog: a set of
// names, each with a 32-bit value, answering "which is the longest listed
// suffix of this name, at a label boundary" without allocating.
//
// It is written by hand because no maintained Go library offers a
// suffix-at-label-boundary lookup that is both allocation-free and compact
// enough to hold a million names in the resolver's 64 MB budget: a Go
// map[string]uint32 costs about 60 bytes a name; this table costs the name's
// bytes plus 12 (an open-addressed slot array of uint32 over packed names).
//
// It must never import other outflow packages.
package domainset

import (
	"errors"
	"hash/maphash"
)

// MaxName is the longest name (RFC 1035 wire limit less the root) accepted.
const MaxName = 253

// ErrName is returned by Add for a name that cannot be a DNS suffix.
var ErrName = errors.New("invalid domain name")

// Set is built with Add and then read concurrently with Lookup. Add must not
// run concurrently with Lookup.
type Set struct {
	seed  maphash.Seed
	data  []byte   // all names, lowercased, back to back
	offs  []uint32 // offs[i] is where name i starts; offs[len] = len(data)
	vals  []uint32
	slots []uint32 // 0 = empty, else name index + 1
	mask  uint32
}

// New returns an empty set sized for about n names.
func New(n int) *Set {
	s := &Set{seed: maphash.MakeSeed(), offs: []uint32{0}}
	s.grow(n)
	return s
}

// Reserve makes room for names more names of bytes bytes in all (as
// Normalize leaves them), so that adding them copies nothing.
func (s *Set) Reserve(names, bytes int) {
	s.grow(len(s.vals) + names)
	s.data = append(make([]byte, 0, len(s.data)+bytes), s.data...)
	s.offs = append(make([]uint32, 0, len(s.offs)+names), s.offs...)
	s.vals = append(make([]uint32, 0, len(s.vals)+names), s.vals...)
}

// Len is the number of names in the set.
func (s *Set) Len() int { return len(s.vals) }

// Bytes is the memory the set holds, for benchmarks and metrics.
func (s *Set) Bytes() int {
	return cap(s.data) + 4*cap(s.offs) + 4*cap(s.vals) + 4*cap(s.slots)
}

func (s *Set) grow(n int) {
	size := uint32(16)
	for int(size) < 2*n {
		size <<= 1
	}
	if int(size) <= len(s.slots) {
		return
	}
	s.slots = make([]uint32, size)
	s.mask = size - 1
	for i := range s.vals {
		s.place(uint32(i))
	}
}

func (s *Set) name(i uint32) []byte { return s.data[s.offs[i]:s.offs[i+1]] }

func (s *Set) place(i uint32) {
	h := uint32(maphash.Bytes(s.seed, s.name(i)))
	for p := h & s.mask; ; p = (p + 1) & s.mask {
		if s.slots[p] == 0 {
			s.slots[p] = i + 1
			return
		}
	}
}

// Trim releases the spare capacity that growing left behind; call it after
// adding a large list.
func (s *Set) Trim() {
	s.data = append([]byte(nil), s.data...)
	s.offs = append([]uint32(nil), s.offs...)
	s.vals = append([]uint32(nil), s.vals...)
}

// Add puts name with value v into the set. The name is lowercased and a
// trailing dot removed. Adding a name twice keeps the first value and
// reports added=false, so callers can detect double claims.
func (s *Set) Add(name string, v uint32) (added bool, err error) {
	var buf [MaxName + 1]byte
	b, ok := Normalize(buf[:0], name)
	if !ok || len(b) == 0 {
		return false, ErrName
	}
	if _, found := s.exact(b); found {
		return false, nil
	}
	if 2*(len(s.vals)+1) > len(s.slots) {
		s.grow(2 * (len(s.vals) + 1))
	}
	s.data = append(s.data, b...)
	s.offs = append(s.offs, uint32(len(s.data)))
	s.vals = append(s.vals, v)
	s.place(uint32(len(s.vals) - 1))
	return true, nil
}

func (s *Set) exact(b []byte) (uint32, bool) {
	if len(s.slots) == 0 {
		return 0, false
	}
	h := uint32(maphash.Bytes(s.seed, b))
	for p := h & s.mask; ; p = (p + 1) & s.mask {
		e := s.slots[p]
		if e == 0 {
			return 0, false
		}
		if string(s.name(e-1)) == string(b) {
			return s.vals[e-1], true
		}
	}
}

// Exact reports the value of name itself, if listed. name must already be
// normalised (see Normalize).
func (s *Set) Exact(name []byte) (uint32, bool) { return s.exact(name) }

// Lookup finds the longest listed suffix of name at a label boundary and
// returns its value and the matched suffix's length. name must already be
// normalised (lowercase, no trailing dot): see Normalize.
func (s *Set) Lookup(name []byte) (v uint32, matched int, ok bool) {
	for i := 0; i < len(name); {
		if v, ok := s.exact(name[i:]); ok {
			return v, len(name) - i, true
		}
		j := indexDot(name[i:])
		if j < 0 {
			break
		}
		i += j + 1
	}
	return 0, 0, false
}

func indexDot(b []byte) int {
	for i, c := range b {
		if c == '.' {
			return i
		}
	}
	return -1
}

// Normalize appends the canonical form of name to dst: ASCII lowercased,
// one trailing dot removed. ok is false for names that are empty labels,
// too long, or contain bytes that never appear in a hostname.
func Normalize(dst []byte, name string) ([]byte, bool) {
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if len(name) > MaxName {
		return dst, false
	}
	prevDot := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '.':
			if prevDot {
				return dst, false
			}
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '*':
		default:
			return dst, false
		}
		prevDot = c == '.'
		dst = append(dst, c)
	}
	if prevDot && len(name) > 0 {
		return dst, false
	}
	return dst, true
}
