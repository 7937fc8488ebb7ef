package inventory

import (
	"strconv"
	"unsafe"
)

// Interner turns the byte slices a parser scans into strings without one
// allocation per field: a device name, a platform or an app id repeats on
// thousands of rows, so each distinct value is stored once (up to a bound),
// and the rest are copied into shared arena chunks. This is what keeps
// parsing 20 million rows from making 100 million small strings.
//
// An Interner is not safe for concurrent use. Strings it returns stay valid
// for ever (they are never overwritten).
type Interner struct {
	m     map[string]string
	plat  map[string]string   // raw platform word -> NormalizePlatform
	tags  map[string][]string // raw tag list -> split, shared by every row of a device
	max   int
	arena []byte // len = used, cap = chunk size; bytes before len are never written again
}

const (
	arenaChunk = 32 << 10
	arenaMax   = 1 << 10 // longer strings get their own allocation
)

// DefaultInternEntries bounds the interning table: enough for every
// distinct app id and version in a large fleet, small enough (tens of MB at
// worst) not to matter.
const DefaultInternEntries = 1 << 20

// NewInterner returns an Interner that keeps at most maxEntries distinct
// strings (DefaultInternEntries when maxEntries <= 0).
func NewInterner(maxEntries int) *Interner {
	if maxEntries <= 0 {
		maxEntries = DefaultInternEntries
	}
	return &Interner{m: make(map[string]string, 1024), plat: map[string]string{}, tags: map[string][]string{}, max: maxEntries}
}

// Bytes returns b as a string, shared with earlier equal values.
func (in *Interner) Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := in.Copy(b)
	if len(in.m) < in.max {
		in.m[s] = s
	}
	return s
}

// Same returns prev when b holds the same bytes, else Bytes(b). The rows of
// one device repeat its device, owner and platform columns, and comparing
// with the previous row's value is cheaper than hashing.
func (in *Interner) Same(prev string, b []byte) string {
	if string(b) == prev {
		return prev
	}
	return in.Bytes(b)
}

// String returns s, shared with earlier equal values.
func (in *Interner) String(s string) string {
	if s == "" {
		return ""
	}
	if t, ok := in.m[s]; ok {
		return t
	}
	if len(in.m) < in.max {
		in.m[s] = s
	}
	return s
}

// Copy returns b as a string without interning it, usually without an
// allocation of its own.
func (in *Interner) Copy(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMax {
		return string(b)
	}
	dst := in.grab(len(b))
	copy(dst, b)
	return unsafe.String(&dst[0], len(dst))
}

// Source returns "name:line", usually without an allocation of its own.
func (in *Interner) Source(name string, line int) string {
	var num [20]byte
	n := strconv.AppendInt(num[:0], int64(line), 10)
	size := len(name) + 1 + len(n)
	if size > arenaMax {
		return name + ":" + string(n)
	}
	dst := in.grab(size)
	copy(dst, name)
	dst[len(name)] = ':'
	copy(dst[len(name)+1:], n)
	return unsafe.String(&dst[0], len(dst))
}

// grab returns n fresh bytes from the arena. n <= arenaMax.
func (in *Interner) grab(n int) []byte {
	if cap(in.arena)-len(in.arena) < n {
		in.arena = make([]byte, 0, arenaChunk)
	}
	start := len(in.arena)
	in.arena = in.arena[:start+n]
	return in.arena[start : start+n : start+n]
}

// Platform returns NormalizePlatform of b, cached.
func (in *Interner) Platform(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.plat[string(b)]; ok {
		return s
	}
	s := in.String(NormalizePlatform(string(b)))
	if len(in.plat) < 1024 {
		in.plat[string(b)] = s
	}
	return s
}

// Tags returns SplitTags of b, cached: rows of one device share one slice,
// which callers must not modify.
func (in *Interner) Tags(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	if t, ok := in.tags[string(b)]; ok {
		return t
	}
	t := SplitTags(string(b))
	for i := range t {
		t[i] = in.String(t[i])
	}
	if len(in.tags) < 1<<14 {
		in.tags[string(b)] = t
	}
	return t
}

// Reset forgets the interned strings (those already returned stay valid), so
// that a long-running reader does not keep every value it ever saw alive.
func (in *Interner) Reset() {
	clear(in.m)
	clear(in.plat)
	clear(in.tags)
	in.arena = nil
}
