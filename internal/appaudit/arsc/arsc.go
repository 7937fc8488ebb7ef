// Package arsc reads resources.arsc, the compiled resource table of an APK,
// far enough to resolve a string resource id (the app label @0x7f0b0012) to
// its default-configuration value and to list the string values (for
// endpoint hunting).
//
// It is written by hand against the AOSP format of
// frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h
// (ResTable_header, ResTable_package, ResTable_type with dense, sparse and
// 16-bit offsets, ResTable_entry including Android 14's compact entries)
// with the size checks of ResTable::parsePackage. Complex (bag) entries are
// skipped. Every read is bounds-checked; lookups follow at most 8
// references; nothing panics on crafted input.
//
// arsc imports axml for the string-pool and value primitives shared by both
// formats; it must never import apk, apksig or the DEX/ELF parsers.
package arsc

import (
	"errors"
	"fmt"

	"github.com/outflow-dev/outflow/internal/appaudit/axml"
)

// Table is a parsed resource table.
type Table struct {
	Packages []*Package
	strings  *axml.StringPool
}

// Package is one ResTable_package.
type Package struct {
	ID     uint32
	Name   string
	types  []*typeChunk
	tnames *axml.StringPool
	keys   *axml.StringPool
}

type typeChunk struct {
	id         uint8
	flags      uint8
	entryCount int
	index      []byte // the entry offset table
	entries    []byte // from entriesStart to the chunk end
	isDefault  bool
	noLocale   bool
}

const (
	flagSparse   = 0x01
	flagOffset16 = 0x02
	entryComplex = 0x0001
	entryCompact = 0x0008
	noEntry      = 0xffffffff
)

// ErrNotFound is returned when an id has no value.
var ErrNotFound = errors.New("resource not found")

// Parse decodes resources.arsc.
func Parse(data []byte) (*Table, error) {
	h, err := axml.ReadChunkHeader(data, 0, 12)
	if err != nil {
		return nil, fmt.Errorf("arsc: %w", err)
	}
	if h.Type != axml.ResTableType {
		return nil, fmt.Errorf("arsc: top chunk type %#04x is not a resource table", h.Type)
	}
	data = data[:h.Size]
	t := &Table{}
	for off := int(h.HeaderSize); off+8 <= len(data); {
		ch, err := axml.ReadChunkHeader(data, off, 8)
		if err != nil {
			return nil, fmt.Errorf("arsc: %w", err)
		}
		chunk := data[off : off+int(ch.Size)]
		switch ch.Type {
		case axml.ResStringPoolType:
			if t.strings == nil {
				if t.strings, err = axml.ParseStringPool(chunk); err != nil {
					return nil, fmt.Errorf("arsc: offset %#x: %w", off, err)
				}
			}
		case axml.ResTablePackageType:
			p, err := parsePackage(chunk)
			if err != nil {
				return nil, fmt.Errorf("arsc: offset %#x: %w", off, err)
			}
			t.Packages = append(t.Packages, p)
		}
		off += int(ch.Size)
	}
	if t.strings == nil {
		return nil, errors.New("arsc: no value string pool")
	}
	return t, nil
}

func parsePackage(b []byte) (*Package, error) {
	h, err := axml.ReadChunkHeader(b, 0, 284-4) // typeIdOffset came later
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	p := &Package{ID: le32(b, 8)}
	name := make([]rune, 0, 32)
	for i := 0; i < 128; i++ {
		c := le16(b, 12+2*i)
		if c == 0 {
			break
		}
		name = append(name, rune(c))
	}
	p.Name = string(name)
	typeStrings, keyStrings := int(le32(b, 268)), int(le32(b, 276))
	if typeStrings >= int(h.HeaderSize) && typeStrings < len(b) {
		if sh, err := axml.ReadChunkHeader(b, typeStrings, 28); err == nil {
			p.tnames, _ = axml.ParseStringPool(b[typeStrings : typeStrings+int(sh.Size)])
		}
	}
	if keyStrings >= int(h.HeaderSize) && keyStrings < len(b) {
		if sh, err := axml.ReadChunkHeader(b, keyStrings, 28); err == nil {
			p.keys, _ = axml.ParseStringPool(b[keyStrings : keyStrings+int(sh.Size)])
		}
	}
	for off := int(h.HeaderSize); off+8 <= len(b); {
		ch, err := axml.ReadChunkHeader(b, off, 8)
		if err != nil {
			return nil, fmt.Errorf("package %#x: %w", p.ID, err)
		}
		if ch.Type == axml.ResTableTypeType {
			tc, err := parseType(b[off : off+int(ch.Size)])
			if err != nil {
				return nil, fmt.Errorf("package %#x: offset %#x: %w", p.ID, off, err)
			}
			p.types = append(p.types, tc)
		}
		off += int(ch.Size)
	}
	return p, nil
}

func parseType(b []byte) (*typeChunk, error) {
	h, err := axml.ReadChunkHeader(b, 0, 20+4)
	if err != nil {
		return nil, fmt.Errorf("type: %w", err)
	}
	tc := &typeChunk{id: b[8], flags: b[9], entryCount: int(le32(b, 12))}
	entriesStart := uint64(le32(b, 16))
	width := 4
	if tc.flags&flagOffset16 != 0 {
		width = 2
	}
	if uint64(h.HeaderSize)+uint64(tc.entryCount)*uint64(width) > uint64(len(b)) || entriesStart > uint64(len(b)) {
		return nil, fmt.Errorf("type %d: %d entries or entries start %d beyond chunk size %d", tc.id, tc.entryCount, entriesStart, len(b))
	}
	tc.index = b[h.HeaderSize : int(h.HeaderSize)+tc.entryCount*width]
	tc.entries = b[entriesStart:]
	// ResTable_config starts at byte 20 with its own size.
	cfgSize := int(le32(b, 20))
	cfg := b[20:min(20+max(cfgSize, 4), int(h.HeaderSize))]
	tc.isDefault, tc.noLocale = true, true
	for i, c := range cfg[4:] {
		if c != 0 {
			tc.isDefault = false
			// language[2] and country[2] are bytes 8..11 of the config
			// (after size, mcc, mnc).
			if i+4 >= 8 && i+4 < 12 {
				tc.noLocale = false
			}
		}
	}
	return tc, nil
}

// offset finds where entry idx starts in tc.entries.
func (tc *typeChunk) offset(idx int) (uint64, bool) {
	switch {
	case tc.flags&flagSparse != 0:
		// Sorted (idx u16, offset/4 u16) pairs.
		lo, hi := 0, min(len(tc.index)/4, tc.entryCount)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			switch k := int(le16(tc.index, 4*m)); {
			case k == idx:
				return uint64(le16(tc.index, 4*m+2)) * 4, true
			case k < idx:
				lo = m + 1
			default:
				hi = m
			}
		}
		return 0, false
	case idx < 0 || idx >= tc.entryCount:
		return 0, false
	case tc.flags&flagOffset16 != 0:
		o := le16(tc.index, 2*idx)
		return uint64(o) * 4, o != 0xffff
	}
	o := le32(tc.index, 4*idx)
	return uint64(o), o != noEntry
}

// value returns the simple value of entry idx and its key-string index, if
// this configuration has one.
func (tc *typeChunk) value(idx int) (axml.Value, uint32, bool) {
	off, ok := tc.offset(idx)
	if !ok || off+8 > uint64(len(tc.entries)) {
		return axml.Value{}, 0, false
	}
	e := tc.entries[off:]
	size, flags := le16(e, 0), le16(e, 2)
	if flags&entryCompact != 0 {
		// Android 14 compact entry: key in the size field, type in the
		// high byte of flags, data inline.
		return axml.Value{Type: axml.ValueType(flags >> 8), Data: le32(e, 4)}, uint32(size), true
	}
	if flags&entryComplex != 0 {
		return axml.Value{}, 0, false
	}
	key := le32(e, 4)
	v := uint64(size)
	if v < 8 || off+v+8 > uint64(len(tc.entries)) {
		return axml.Value{}, 0, false
	}
	rv := tc.entries[off+v:]
	return axml.Value{Type: axml.ValueType(rv[3]), Data: le32(rv, 4)}, key, true
}

func le16(b []byte, off int) uint16 {
	if off < 0 || off+2 > len(b) {
		return 0
	}
	return uint16(b[off]) | uint16(b[off+1])<<8
}

func le32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}
