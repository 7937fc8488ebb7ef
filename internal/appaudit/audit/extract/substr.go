package extract

import (
	"bytes"
	"encoding/binary"
)

// subIndex finds which of a fixed set of needles occur in a string, in one
// pass over the string instead of one search per needle: every 4-byte window
// is hashed into a 64 Ki-bit filter of the needles' first four bytes, and
// only windows that pass are compared. Needles shorter than four bytes are
// searched for one by one.
type subIndex struct {
	needles [][]byte
	short   []int
	bits    [1 << 16 / 64]uint64
	byKey   map[uint32][]int
}

func newSubIndex(needles [][]byte) *subIndex {
	x := &subIndex{needles: needles, byKey: map[uint32][]int{}}
	for i, n := range needles {
		if len(n) < 4 {
			x.short = append(x.short, i)
			continue
		}
		k := binary.LittleEndian.Uint32(n)
		x.byKey[k] = append(x.byKey[k], i)
		h := hash16(k)
		x.bits[h>>6] |= 1 << (h & 63)
	}
	return x
}

func hash16(k uint32) uint32 { return (k * 0x9E3779B1) >> 16 }

// scan calls hit for each needle found in s (possibly more than once).
func (x *subIndex) scan(s []byte, hit func(i int)) {
	if len(x.byKey) > 0 {
		for i := 0; i+4 <= len(s); i++ {
			k := binary.LittleEndian.Uint32(s[i:])
			h := hash16(k)
			if x.bits[h>>6]&(1<<(h&63)) == 0 {
				continue
			}
			for _, n := range x.byKey[k] {
				if bytes.HasPrefix(s[i:], x.needles[n]) {
					hit(n)
				}
			}
		}
	}
	for _, n := range x.short {
		if bytes.Contains(s, x.needles[n]) {
			hit(n)
		}
	}
}
