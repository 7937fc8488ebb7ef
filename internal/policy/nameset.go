package policy

import (
	"hash/maphash"
	"math/bits"
)

// nameSet maps names to a small value (an index of a set of rules). It
// keeps only a 64-bit keyed hash of each name, never the name: a million
// names cost about 14 MB instead of the 40 MB of a table that stores them.
// Two different names share a fingerprint with probability 2^-64 per pair;
// the seed is random per process, so nobody can construct a name that
// collides with a listed one.
//
// Lookups do not allocate. The set is built with add and then only read.
type nameSet struct {
	seed maphash.Seed
	fps  []uint64 // 0: empty slot
	vals []uint16
	n    int
}

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

// shrink rebuilds the table at the size its names need, after loading.
func (s *nameSet) shrink() {
	if want := max(16, int(float64(s.n)/maxLoad)+1); want < len(s.fps) {
		s.resize(want)
	}
}

// lookup returns the value of a name (normalised).
func (s *nameSet) lookup(name []byte) (uint16, bool) {
	if s.n == 0 {
		return 0, false
	}
	fp := s.fingerprint(name)
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
func (s *nameSet) Bytes() int { return 10 * len(s.fps) }
