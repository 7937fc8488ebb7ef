package dex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Sizes from the specification.
const (
	headerSize    = 0x70 // header_item up to version 040
	headerSizeV41 = 0x78 // plus container_size and header_offset
	endianTag     = 0x12345678
	reverseEndian = 0x78563412
	noIndex       = 0xffffffff

	stringIDSize = 4
	typeIDSize   = 4
	protoIDSize  = 12
	fieldIDSize  = 8
	methodIDSize = 8
	classDefSize = 32

	// MinVersion and MaxVersion bound the DEX versions ParseContainer accepts.
	MinVersion = 35
	MaxVersion = 41
)

// Kind is what a byte slice looks like from its magic number.
type Kind int

// Kinds Detect tells apart.
const (
	KindUnknown    Kind = iota
	KindDex             // "dex\n0NN\0": a DEX file ParseContainer reads
	KindCompactDex      // "cdex": ART's compact DEX, found inside VDEX files
	KindODEX            // "dey\n": Dalvik-optimised DEX with its own header
	KindVDEX            // "vdex": ART verifier-deps container
	KindELF             // ELF, e.g. an OAT file
)

func (k Kind) String() string {
	switch k {
	case KindDex:
		return "dex"
	case KindCompactDex:
		return "cdex"
	case KindODEX:
		return "odex"
	case KindVDEX:
		return "vdex"
	case KindELF:
		return "elf"
	}
	return "unknown"
}

// Detect reports the kind of file data starts with. It looks at the magic
// only; ParseContainer does the validation.
func Detect(data []byte) Kind {
	switch {
	case bytes.HasPrefix(data, []byte("dex\n")):
		return KindDex
	case bytes.HasPrefix(data, []byte("cdex")):
		return KindCompactDex
	case bytes.HasPrefix(data, []byte("dey\n")):
		return KindODEX
	case bytes.HasPrefix(data, []byte("vdex")):
		return KindVDEX
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		return KindELF
	}
	return KindUnknown
}

// ErrNotDex is wrapped by the errors ParseContainer returns for input that
// is not a DEX file it reads (see FormatError for the kind).
var ErrNotDex = errors.New("not a DEX file")

// FormatError says that the input is another format than plain DEX.
type FormatError struct {
	Kind    Kind
	Version string // version digits from the magic, when there are any
}

func (e *FormatError) Error() string {
	if e.Version != "" {
		return fmt.Sprintf("dex: %s version %q is not supported", e.Kind, e.Version)
	}
	return fmt.Sprintf("dex: input is %s, not DEX", e.Kind)
}

// Unwrap lets errors.Is(err, ErrNotDex) match.
func (e *FormatError) Unwrap() error { return ErrNotDex }

// Header is the header_item of one DEX file.
type Header struct {
	Version    int // 35..41, from the magic
	Checksum   uint32
	Signature  [20]byte
	FileSize   uint32
	HeaderSize uint32
	LinkSize   uint32
	LinkOff    uint32
	MapOff     uint32

	StringIDsSize, StringIDsOff uint32
	TypeIDsSize, TypeIDsOff     uint32
	ProtoIDsSize, ProtoIDsOff   uint32
	FieldIDsSize, FieldIDsOff   uint32
	MethodIDsSize, MethodIDsOff uint32
	ClassDefsSize, ClassDefsOff uint32
	DataSize, DataOff           uint32

	// Version 041 only: the size of the container holding this DEX file and
	// the offset of this header within it. Zero for older versions.
	ContainerSize uint32
	HeaderOffset  uint32
}

// File is one parsed DEX file. Its methods are safe for concurrent use.
// Slices it returns alias the data given to ParseContainer: don't modify
// that data while the File is in use.
type File struct {
	Header Header

	data     []byte // what offsets are relative to: the file, or the v41 container
	hdr      int    // offset of this header in data
	trailing int    // input bytes after file_size (container_size for v41)

	strIDs, typeIDs, protoIDs, fieldIDs, methodIDs, classDefs []byte

	strOnce          sync.Once
	strStart, strEnd []uint32 // see stringIndex

	sortOnce sync.Once
	sorted   bool

	codeOnce sync.Once
	code     *CodeRefs
}

func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// ParseContainer parses every DEX file in data: one for versions 035 to 040,
// and each entry of a version 041 container in order.
func ParseContainer(data []byte) ([]*File, error) {
	first, err := parseAt(data, 0)
	if err != nil {
		return nil, err
	}
	files := []*File{first}
	if first.Header.Version < 41 {
		return files, nil
	}
	end := uint64(first.Header.ContainerSize)
	off := uint64(first.Header.FileSize)
	for off < end {
		if len(files) >= 1<<16 {
			return nil, fmt.Errorf("dex: container has more than %d entries", 1<<16)
		}
		f, err := parseAt(data, int(off))
		if err != nil {
			return nil, fmt.Errorf("dex: container entry %d at offset %#x: %w", len(files), off, err)
		}
		if f.Header.Version < 41 {
			return nil, fmt.Errorf("dex: container entry %d at offset %#x has version %03d, not a container version", len(files), off, f.Header.Version)
		}
		if f.Header.ContainerSize != first.Header.ContainerSize {
			return nil, fmt.Errorf("dex: container entry %d at offset %#x: container_size %d differs from first entry's %d",
				len(files), off, f.Header.ContainerSize, first.Header.ContainerSize)
		}
		files = append(files, f)
		off += uint64(f.Header.FileSize)
	}
	return files, nil
}

// parseAt parses the header at offset hdr of data (hdr > 0 only inside a
// version 041 container) and validates every id table.
func parseAt(data []byte, hdr int) (*File, error) {
	if hdr < 0 || hdr > len(data) {
		return nil, fmt.Errorf("dex: header offset %#x outside %d-byte input", hdr, len(data))
	}
	b := data[hdr:]
	if k := Detect(b); k != KindDex {
		fe := &FormatError{Kind: k}
		if k == KindCompactDex && len(b) >= 8 {
			fe.Version = string(bytes.TrimRight(b[4:8], "\x00"))
		}
		return nil, fe
	}
	if len(b) < headerSize {
		return nil, fmt.Errorf("dex: %d bytes is shorter than the %d-byte header: %w", len(b), headerSize, ErrNotDex)
	}
	v := b[4:8]
	if v[3] != 0 || !isDigit(v[0]) || !isDigit(v[1]) || !isDigit(v[2]) {
		return nil, fmt.Errorf("dex: malformed version in magic %q: %w", b[:8], ErrNotDex)
	}
	version := int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0')
	if version < MinVersion || version > MaxVersion {
		return nil, &FormatError{Kind: KindDex, Version: string(v[:3])}
	}

	var h Header
	h.Version = version
	h.Checksum = u32(b, 8)
	copy(h.Signature[:], b[12:32])
	h.FileSize = u32(b, 32)
	h.HeaderSize = u32(b, 36)
	switch tag := u32(b, 40); tag {
	case endianTag:
	case reverseEndian:
		return nil, fmt.Errorf("dex: big-endian (reverse endian tag) files are not supported")
	default:
		return nil, fmt.Errorf("dex: bad endian tag %#x", tag)
	}
	h.LinkSize, h.LinkOff, h.MapOff = u32(b, 44), u32(b, 48), u32(b, 52)
	h.StringIDsSize, h.StringIDsOff = u32(b, 56), u32(b, 60)
	h.TypeIDsSize, h.TypeIDsOff = u32(b, 64), u32(b, 68)
	h.ProtoIDsSize, h.ProtoIDsOff = u32(b, 72), u32(b, 76)
	h.FieldIDsSize, h.FieldIDsOff = u32(b, 80), u32(b, 84)
	h.MethodIDsSize, h.MethodIDsOff = u32(b, 88), u32(b, 92)
	h.ClassDefsSize, h.ClassDefsOff = u32(b, 96), u32(b, 100)
	h.DataSize, h.DataOff = u32(b, 104), u32(b, 108)

	f := &File{hdr: hdr}
	minHeader := uint32(headerSize)
	if version >= 41 {
		minHeader = headerSizeV41
		if len(b) < headerSizeV41 {
			return nil, fmt.Errorf("dex: %d bytes is shorter than the %d-byte v41 header", len(b), headerSizeV41)
		}
		h.ContainerSize, h.HeaderOffset = u32(b, 112), u32(b, 116)
		if int(h.HeaderOffset) != hdr {
			return nil, fmt.Errorf("dex: header_offset %#x but header found at %#x", h.HeaderOffset, hdr)
		}
		if uint64(h.ContainerSize) > uint64(len(data)) {
			return nil, fmt.Errorf("dex: container_size %d exceeds the %d bytes available (truncated?)", h.ContainerSize, len(data))
		}
		if uint64(hdr)+uint64(h.FileSize) > uint64(h.ContainerSize) {
			return nil, fmt.Errorf("dex: entry at %#x with file_size %d runs past container_size %d", hdr, h.FileSize, h.ContainerSize)
		}
		// Offsets in a container are relative to the container start.
		f.data = data[:h.ContainerSize]
		f.trailing = len(data) - int(h.ContainerSize)
	} else {
		if uint64(h.FileSize) > uint64(len(b)) {
			return nil, fmt.Errorf("dex: file_size %d exceeds the %d bytes available (truncated?)", h.FileSize, len(b))
		}
		f.data = b[:h.FileSize]
		f.trailing = len(b) - int(h.FileSize)
	}
	if h.HeaderSize < minHeader || h.HeaderSize > h.FileSize {
		return nil, fmt.Errorf("dex: header_size %#x outside [%#x, file_size %d]", h.HeaderSize, minHeader, h.FileSize)
	}
	f.Header = h

	var err error
	if f.strIDs, err = f.table("string_ids", h.StringIDsSize, h.StringIDsOff, stringIDSize); err != nil {
		return nil, err
	}
	if f.typeIDs, err = f.table("type_ids", h.TypeIDsSize, h.TypeIDsOff, typeIDSize); err != nil {
		return nil, err
	}
	if f.protoIDs, err = f.table("proto_ids", h.ProtoIDsSize, h.ProtoIDsOff, protoIDSize); err != nil {
		return nil, err
	}
	if f.fieldIDs, err = f.table("field_ids", h.FieldIDsSize, h.FieldIDsOff, fieldIDSize); err != nil {
		return nil, err
	}
	if f.methodIDs, err = f.table("method_ids", h.MethodIDsSize, h.MethodIDsOff, methodIDSize); err != nil {
		return nil, err
	}
	if f.classDefs, err = f.table("class_defs", h.ClassDefsSize, h.ClassDefsOff, classDefSize); err != nil {
		return nil, err
	}
	if err := f.checkIndices(); err != nil {
		return nil, err
	}
	return f, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// table returns the bytes of an id table after checking they lie inside the
// data.
func (f *File) table(name string, n, off uint32, item int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	end := uint64(off) + uint64(n)*uint64(item)
	if off == 0 || end > uint64(len(f.data)) {
		return nil, fmt.Errorf("dex: %s: %d items at offset %#x run past the %d-byte file", name, n, off, len(f.data))
	}
	return f.data[off:end], nil
}

// checkIndices verifies every cross-reference between id tables, so that the
// accessors can only fail on string data.
func (f *File) checkIndices() error {
	ns := uint32(f.NumStrings())
	nt := uint32(f.NumTypes())
	np := uint32(f.NumProtos())
	for i := 0; i < len(f.typeIDs); i += typeIDSize {
		if s := u32(f.typeIDs, i); s >= ns {
			return fmt.Errorf("dex: type_ids[%d]: string index %d out of range (%d strings)", i/typeIDSize, s, ns)
		}
	}
	for i := 0; i < len(f.protoIDs); i += protoIDSize {
		if s := u32(f.protoIDs, i); s >= ns {
			return fmt.Errorf("dex: proto_ids[%d]: shorty index %d out of range (%d strings)", i/protoIDSize, s, ns)
		}
		if t := u32(f.protoIDs, i+4); t >= nt {
			return fmt.Errorf("dex: proto_ids[%d]: return type %d out of range (%d types)", i/protoIDSize, t, nt)
		}
	}
	for i := 0; i < len(f.fieldIDs); i += fieldIDSize {
		c, t, n := uint32(u16(f.fieldIDs, i)), uint32(u16(f.fieldIDs, i+2)), u32(f.fieldIDs, i+4)
		if c >= nt || t >= nt || n >= ns {
			return fmt.Errorf("dex: field_ids[%d]: index out of range (class %d, type %d, name %d)", i/fieldIDSize, c, t, n)
		}
	}
	for i := 0; i < len(f.methodIDs); i += methodIDSize {
		c, p, n := uint32(u16(f.methodIDs, i)), uint32(u16(f.methodIDs, i+2)), u32(f.methodIDs, i+4)
		if c >= nt || p >= np || n >= ns {
			return fmt.Errorf("dex: method_ids[%d]: index out of range (class %d, proto %d, name %d)", i/methodIDSize, c, p, n)
		}
	}
	for i := 0; i < len(f.classDefs); i += classDefSize {
		if c := u32(f.classDefs, i); c >= nt {
			return fmt.Errorf("dex: class_defs[%d]: class type %d out of range (%d types)", i/classDefSize, c, nt)
		}
		if s := u32(f.classDefs, i+8); s != noIndex && s >= nt {
			return fmt.Errorf("dex: class_defs[%d]: superclass type %d out of range (%d types)", i/classDefSize, s, nt)
		}
		if s := u32(f.classDefs, i+16); s != noIndex && s >= ns {
			return fmt.Errorf("dex: class_defs[%d]: source file string %d out of range (%d strings)", i/classDefSize, s, ns)
		}
	}
	return nil
}
