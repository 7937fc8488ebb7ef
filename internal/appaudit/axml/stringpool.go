package axml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	stringPoolHeaderSize = 28
	flagUTF8             = 1 << 8
)

// ErrBudget is returned when decoding would use more memory than the input
// justifies (crafted pools whose string offsets overlap can otherwise expand
// quadratically).
var ErrBudget = errors.New("decoded strings exceed the memory budget for this input")

// StringPool is a decoded view of a ResStringPool chunk. Strings are decoded
// on demand from the chunk bytes; nothing is copied at parse time.
type StringPool struct {
	count   int
	utf8    bool
	offsets []byte // stringCount little-endian uint32 byte offsets
	pool    []byte // string data, from stringsStart to the end of the strings area
	size    int    // chunk size, the basis of the decoding budget
}

// ParseStringPool parses the ResStringPool chunk that starts at b[0]. The
// checks are those of ResStringPool::setTo.
func ParseStringPool(b []byte) (*StringPool, error) {
	h, err := ReadChunkHeader(b, 0, stringPoolHeaderSize)
	if err != nil {
		return nil, fmt.Errorf("string pool: %w", err)
	}
	if h.Type != ResStringPoolType {
		return nil, fmt.Errorf("string pool: chunk type %#04x is not a string pool", h.Type)
	}
	size := int(h.Size)
	stringCount := u32(b, 8)
	styleCount := u32(b, 12)
	flags := u32(b, 16)
	stringsStart := u32(b, 20)
	stylesStart := u32(b, 24)
	p := &StringPool{utf8: flags&flagUTF8 != 0, size: size}
	if stringCount == 0 {
		return p, nil
	}
	if uint64(h.HeaderSize)+uint64(stringCount)*4 > uint64(size) {
		return nil, fmt.Errorf("string pool: index of %d strings extends past chunk size %d", stringCount, size)
	}
	p.count = int(stringCount)
	p.offsets = b[h.HeaderSize : int(h.HeaderSize)+p.count*4]
	if uint64(stringsStart) >= uint64(size-2) {
		return nil, fmt.Errorf("string pool: strings start at %d, after chunk size %d", stringsStart, size)
	}
	end := uint64(size)
	if styleCount != 0 {
		if uint64(stylesStart) >= uint64(size-2) {
			return nil, fmt.Errorf("string pool: styles start at %d, after chunk size %d", stylesStart, size)
		}
		if stylesStart <= stringsStart {
			return nil, fmt.Errorf("string pool: styles start at %d, before strings at %d", stylesStart, stringsStart)
		}
		end = uint64(stylesStart)
	}
	p.pool = b[stringsStart:end]
	if !p.utf8 {
		p.pool = p.pool[:len(p.pool)&^1]
	}
	if len(p.pool) == 0 {
		return nil, fmt.Errorf("string pool: %d strings but the pool is empty", stringCount)
	}
	// ResStringPool::setTo requires the pool to end with a terminator.
	if p.utf8 && p.pool[len(p.pool)-1] != 0 || !p.utf8 && (p.pool[len(p.pool)-1] != 0 || p.pool[len(p.pool)-2] != 0) {
		return nil, errors.New("string pool: last string is not NUL-terminated")
	}
	return p, nil
}

// Len is the number of strings in the pool.
func (p *StringPool) Len() int {
	if p == nil {
		return 0
	}
	return p.count
}

// IsUTF8 reports whether the pool stores UTF-8 (else UTF-16).
func (p *StringPool) IsUTF8() bool { return p != nil && p.utf8 }

// Get decodes string i. Like ResStringPool::stringAt it fails for an index
// out of range, an entry past the pool end, or a string without its NUL.
// The result stops at the first embedded NUL, as aapt prints it.
func (p *StringPool) Get(i int) (string, error) {
	if p == nil || i < 0 || i >= p.count {
		return "", fmt.Errorf("string #%d out of range (pool has %d)", i, p.Len())
	}
	off := u32(p.offsets, i*4)
	if p.utf8 {
		return p.get8(i, uint64(off))
	}
	return p.get16(i, uint64(off))
}

func (p *StringPool) get16(i int, off uint64) (string, error) {
	if off&1 != 0 || off+2 > uint64(len(p.pool)) {
		return "", fmt.Errorf("string #%d at %d: past end of pool (%d bytes)", i, off, len(p.pool))
	}
	pos := int(off)
	n := uint64(u16(p.pool, pos))
	pos += 2
	if n&0x8000 != 0 {
		if pos+2 > len(p.pool) {
			return "", fmt.Errorf("string #%d at %d: truncated length", i, off)
		}
		n = (n&0x7fff)<<16 | uint64(u16(p.pool, pos))
		pos += 2
	}
	if uint64(pos)+2*n+2 > uint64(len(p.pool)) {
		return "", fmt.Errorf("string #%d at %d: %d UTF-16 units extend past end of pool", i, off, n)
	}
	if u16(p.pool, pos+int(2*n)) != 0 {
		return "", fmt.Errorf("string #%d at %d: not NUL-terminated", i, off)
	}
	units := make([]uint16, n)
	for k := range units {
		units[k] = u16(p.pool, pos+2*k)
	}
	return cutNUL(string(utf16.Decode(units))), nil
}

// cutNUL drops everything from the first NUL on: aapt prints strings as C
// strings and androguard cuts them the same way, so an embedded NUL (a
// packer trick to hide a suffix) does not leak into names.
func cutNUL(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

func (p *StringPool) get8(i int, off uint64) (string, error) {
	if off >= uint64(len(p.pool)) {
		return "", fmt.Errorf("string #%d at %d: past end of pool (%d bytes)", i, off, len(p.pool))
	}
	pos := int(off)
	readLen := func() (int, bool) {
		if pos >= len(p.pool) {
			return 0, false
		}
		n := int(p.pool[pos])
		pos++
		if n&0x80 != 0 {
			if pos >= len(p.pool) {
				return 0, false
			}
			n = (n&0x7f)<<8 | int(p.pool[pos])
			pos++
		}
		return n, true
	}
	if _, ok := readLen(); !ok { // length in UTF-16 units, unused
		return "", fmt.Errorf("string #%d at %d: truncated length", i, off)
	}
	n, ok := readLen()
	if !ok {
		return "", fmt.Errorf("string #%d at %d: truncated length", i, off)
	}
	if pos+n >= len(p.pool) {
		return "", fmt.Errorf("string #%d at %d: %d bytes extend past end of pool", i, off, n)
	}
	if p.pool[pos+n] != 0 {
		return "", fmt.Errorf("string #%d at %d: not NUL-terminated", i, off)
	}
	s := p.pool[pos : pos+n]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if utf8.Valid(s) {
		return string(s), nil
	}
	return strings.ToValidUTF8(string(s), "\uFFFD"), nil
}

// All decodes every string. A string that fails to decode is returned
// empty and reported in errs (by index), as Android returns NULL for it and
// goes on. All fails with ErrBudget when the decoded total would exceed
// budget bytes (0 means 4 times the chunk size plus 64 KiB).
func (p *StringPool) All(budget int) (strs []string, errs map[int]error, err error) {
	if p == nil {
		return nil, nil, nil
	}
	if budget <= 0 {
		budget = 4*p.size + 64<<10
	}
	strs = make([]string, p.count)
	used := 0
	for i := range strs {
		s, e := p.Get(i)
		if e != nil {
			if errs == nil {
				errs = make(map[int]error)
			}
			errs[i] = e
			continue
		}
		used += len(s)
		if used > budget {
			return nil, nil, fmt.Errorf("string pool: string #%d: %w", i, ErrBudget)
		}
		strs[i] = s
	}
	return strs, errs, nil
}
