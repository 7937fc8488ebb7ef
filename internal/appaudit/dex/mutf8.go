package dex

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DEX strings are "modified UTF-8" (MUTF-8): UTF-16 code units, each encoded
// like a UTF-8 code point of at most three bytes, with U+0000 written as the
// two bytes C0 80 so that no string data contains a zero byte. A supplementary
// character is therefore two three-byte surrogates, not one four-byte
// sequence.

// DecodeMUTF8 converts MUTF-8 bytes to a Go (UTF-8) string. Surrogate pairs
// are joined; malformed sequences and unpaired surrogates become U+FFFD, so
// the result is always valid UTF-8. ASCII input is converted without extra
// work.
func DecodeMUTF8(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		u, n, ok := decodeUnit(b[i:])
		i += n
		if !ok {
			sb.WriteRune(utf8.RuneError)
			continue
		}
		if utf16.IsSurrogate(rune(u)) {
			if u < 0xdc00 && i < len(b) {
				if lo, m, ok := decodeUnit(b[i:]); ok && lo >= 0xdc00 && lo <= 0xdfff {
					sb.WriteRune(utf16.DecodeRune(rune(u), rune(lo)))
					i += m
					continue
				}
			}
			sb.WriteRune(utf8.RuneError)
			continue
		}
		sb.WriteRune(rune(u))
	}
	return sb.String()
}

// ValidMUTF8 reports whether b is well-formed MUTF-8: every sequence
// complete, no raw zero byte, and every surrogate paired.
func ValidMUTF8(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			if b[i] == 0 {
				return false
			}
			i++
			continue
		}
		u, n, ok := decodeUnit(b[i:])
		if !ok {
			return false
		}
		i += n
		if u >= 0xd800 && u <= 0xdbff {
			lo, m, ok := decodeUnit(b[i:])
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			i += m
		} else if u >= 0xdc00 && u <= 0xdfff {
			return false
		}
	}
	return true
}

// decodeUnit decodes one UTF-16 code unit from the start of b. It returns
// the unit, the bytes consumed (at least 1 when b is not empty) and whether
// the sequence was well formed.
func decodeUnit(b []byte) (uint16, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	c := b[0]
	switch {
	case c < 0x80:
		return uint16(c), 1, true
	case c&0xe0 == 0xc0:
		if len(b) < 2 || b[1]&0xc0 != 0x80 {
			return 0, 1, false
		}
		return uint16(c&0x1f)<<6 | uint16(b[1]&0x3f), 2, true
	case c&0xf0 == 0xe0:
		if len(b) < 3 || b[1]&0xc0 != 0x80 || b[2]&0xc0 != 0x80 {
			return 0, 1, false
		}
		return uint16(c&0x0f)<<12 | uint16(b[1]&0x3f)<<6 | uint16(b[2]&0x3f), 3, true
	}
	return 0, 1, false
}

// EncodeMUTF8 converts a Go string to MUTF-8 and returns it with its length
// in UTF-16 code units (the utf16_size of a string_data_item). Invalid UTF-8
// in s is encoded as U+FFFD.
func EncodeMUTF8(s string) ([]byte, int) {
	out := make([]byte, 0, len(s)+2)
	return appendMUTF8(out, s)
}

func appendMUTF8(out []byte, s string) ([]byte, int) {
	units := 0
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			out = appendUnit(out, uint16(hi))
			out = appendUnit(out, uint16(lo))
			units += 2
			continue
		}
		out = appendUnit(out, uint16(r))
		units++
	}
	return out, units
}

func appendUnit(out []byte, u uint16) []byte {
	switch {
	case u != 0 && u < 0x80:
		return append(out, byte(u))
	case u < 0x800: // includes U+0000 as C0 80
		return append(out, 0xc0|byte(u>>6), 0x80|byte(u&0x3f))
	}
	return append(out, 0xe0|byte(u>>12), 0x80|byte(u>>6&0x3f), 0x80|byte(u&0x3f))
}

// CompareMUTF8 orders two MUTF-8 strings by their UTF-16 code units, the
// order the specification requires of string_ids. For MUTF-8 that order is
// byte order, except that U+0000, written C0 80, sorts first: so the bytes
// are compared with 0xC0 read as 0x00. Ties that this mapping creates (a raw
// zero byte, which valid MUTF-8 never has, against 0xC0) are broken by
// plain byte order, which keeps the order total on any input.
func CompareMUTF8(a, b []byte) int {
	n := min(len(a), len(b))
	i := mismatch(a[:n], b[:n])
	for ; i < n; i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == 0xc0 {
			x = 0
		}
		if y == 0xc0 {
			y = 0
		}
		if x != y {
			return int(x) - int(y)
		}
		// 0x00 against 0xC0: equal under the mapping; compare the rest,
		// and break a full tie with byte order.
		for j := i + 1; j < n; j++ {
			x, y := a[j], b[j]
			if x == 0xc0 {
				x = 0
			}
			if y == 0xc0 {
				y = 0
			}
			if x != y {
				return int(x) - int(y)
			}
		}
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return bytes.Compare(a, b)
	}
	return len(a) - len(b)
}

// mismatch returns the index of the first differing byte of two slices of
// equal length, or their length, eight bytes at a time.
func mismatch(a, b []byte) int {
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < len(a) && a[i] == b[i]; i++ {
	}
	return i
}
