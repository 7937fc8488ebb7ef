package policy

import (
	"cmp"
	"hash/maphash"
	"math/bits"
	"slices"
)

// nameSet maps names to a small value (an index of a set of rules). It
// keeps only a 64-bit keyed hash of each name, never the name. Two
// different names share a fingerprint with probability 2^-64 per pair;
// the seed is random per process, so nobody can construct a name that
// collides with a listed one.
//
// The set is built with add in an open-addressing table, then frozen:
// the fingerprints sorted in one array, their values in another, and a
// directory of where each run of fingerprints with the same top bits
// starts (16 to 32 a run, so the directory, 128 KB for a million names,
// stays in the CPU's cache). A lookup guesses the position within the run
// by interpolation (fingerprints are uniform) and steps to it: one cache
// line of the array, rarely two. A million names cost 10.1 MB (8 + 2 +
// 0.1) instead of the 14 MB of the table at 70 % load or the 40 MB of a
// table that stores the names. Lookups do not allocate.
type nameSet struct {
	seed maphash.Seed
	fps  []uint64 // building: 0 is an empty slot; frozen: sorted, no zeros
	vals []uint16
	n    int

	dir   []uint32 // frozen: fps[dir[b]:dir[b+1]] have top bits b
	shift uint     // 64 - log2(len(dir)-1)
}

// runLen is the average number of fingerprints a directory entry covers.
const runLen = 32

// maxLoad bounds the share of used slots: linear probing stays near two
// probes for a name that is not listed, the common case.
const maxLoad = 0.7

func newNameSet(hint int) *nameSet {
	s := &nameSet{seed: maphash.MakeSeed()}
	s.resize(max(16, int(float64(hint)/maxLoad)+1))
	return s
}

func (s *nameSet) fingerprint(name []byte) uint64 {
	fp := maphash.Bytes(s.seed, name)
	if fp == 0 {
		fp = 1
	}
	return fp
}

func (s *nameSet) slot(fp uint64) int {
	hi, _ := bits.Mul64(fp, uint64(len(s.fps)))
	return int(hi)
}

func (s *nameSet) resize(size int) {
	oldF, oldV := s.fps, s.vals
	s.fps, s.vals = make([]uint64, size), make([]uint16, size)
	for i, fp := range oldF {
		if fp != 0 {
			s.place(fp, oldV[i])
		}
	}
}

func (s *nameSet) place(fp uint64, v uint16) {
	for i := s.slot(fp); ; {
		if s.fps[i] == 0 {
			s.fps[i], s.vals[i] = fp, v
			return
		}
		if i++; i == len(s.fps) {
			i = 0
		}
	}
}

// add sets the value of name to merge(old, had): had says whether the
// name was already in the set, with value old.
func (s *nameSet) add(name []byte, merge func(old uint16, had bool) uint16) {
	if s.dir != nil {
		panic("policy: nameSet.add after freeze")
	}
	fp := s.fingerprint(name)
	for i := s.slot(fp); ; {
		switch s.fps[i] {
		case fp:
			s.vals[i] = merge(s.vals[i], true)
			return
		case 0:
			if float64(s.n+1) > maxLoad*float64(len(s.fps)) {
				s.resize(2 * len(s.fps))
				s.place(fp, merge(0, false))
			} else {
				s.fps[i], s.vals[i] = fp, merge(0, false)
			}
			s.n++
			return
		}
		if i++; i == len(s.fps) {
			i = 0
		}
	}
}

// freeze freezes the set after loading: sorted fingerprints and the
// directory of their runs. add must not be called after it.
func (s *nameSet) freeze() {
	if s.dir != nil {
		return
	}
	type pair struct {
		fp uint64
		v  uint16
	}
	// The table is nearly sorted already (a slot is the fingerprint
	// scaled to the table), which the sort makes use of.
	ps := make([]pair, 0, s.n)
	for i, fp := range s.fps {
		if fp != 0 {
			ps = append(ps, pair{fp, s.vals[i]})
		}
	}
	s.fps, s.vals = nil, nil // let the table go before the arrays are made
	slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.fp, b.fp) })
	bitsN := max(1, bits.Len(uint(len(ps)/runLen)))
	s.shift = uint(64 - bitsN)
	s.fps, s.vals = make([]uint64, len(ps)), make([]uint16, len(ps))
	s.dir = make([]uint32, 1<<bitsN+1)
	b := 0
	for i, p := range ps {
		s.fps[i], s.vals[i] = p.fp, p.v
		for top := int(p.fp >> s.shift); b <= top; b++ {
			s.dir[b] = uint32(i)
		}
	}
	for ; b < len(s.dir); b++ {
		s.dir[b] = uint32(len(ps))
	}
}

// lookup returns the value of a name (normalised).
func (s *nameSet) lookup(name []byte) (uint16, bool) {
	if s.n == 0 {
		return 0, false
	}
	fp := s.fingerprint(name)
	if s.dir != nil {
		top := fp >> s.shift
		lo, hi := int(s.dir[top]), int(s.dir[top+1])
		if lo == hi {
			return 0, false
		}
		// (fp's offset in the run's range) * (run length) / (range).
		ph, pl := bits.Mul64(fp&(1<<s.shift-1), uint64(hi-lo))
		i := lo + int(ph<<(64-s.shift)|pl>>s.shift)
		if s.fps[i] < fp {
			for i++; i < hi && s.fps[i] < fp; i++ {
			}
		} else {
			for i > lo && s.fps[i-1] >= fp {
				i--
			}
		}
		if i < hi && s.fps[i] == fp {
			return s.vals[i], true
		}
		return 0, false
	}
	for i := s.slot(fp); ; {
		switch s.fps[i] {
		case fp:
			return s.vals[i], true
		case 0:
			return 0, false
		}
		if i++; i == len(s.fps) {
			i = 0
		}
	}
}

// Len is the number of names.
func (s *nameSet) Len() int { return s.n }

// Bytes is the memory the set holds.
func (s *nameSet) Bytes() int { return 8*len(s.fps) + 2*len(s.vals) + 4*len(s.dir) }
