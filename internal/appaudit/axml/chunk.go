package axml

import (
	"encoding/binary"
	"fmt"
)

// Chunk types from ResourceTypes.h.
const (
	ResNullType          = 0x0000
	ResStringPoolType    = 0x0001
	ResTableType         = 0x0002
	ResXMLType           = 0x0003
	ResXMLStartNamespace = 0x0100
	ResXMLEndNamespace   = 0x0101
	ResXMLStartElement   = 0x0102
	ResXMLEndElement     = 0x0103
	ResXMLCData          = 0x0104
	ResXMLLastChunk      = 0x017f
	ResXMLResourceMap    = 0x0180
	ResTablePackageType  = 0x0200
	ResTableTypeType     = 0x0201
	ResTableTypeSpecType = 0x0202
	ResTableLibraryType  = 0x0203
)

// ChunkHeader is ResChunk_header.
type ChunkHeader struct {
	Type       uint16
	HeaderSize uint16
	Size       uint32
}

// ReadChunkHeader reads the chunk header at off in b and checks that the
// chunk, as declared, lies inside b and that its header is at least minHeader
// bytes (the validate_chunk rules of ResourceTypes.cpp, minus the 4-byte
// alignment rule, which real packers break and Android's loader of installed
// manifests does not need).
func ReadChunkHeader(b []byte, off int, minHeader int) (ChunkHeader, error) {
	if off < 0 || off > len(b) || len(b)-off < 8 {
		return ChunkHeader{}, fmt.Errorf("offset %#x: truncated chunk header (%d bytes left)", off, max(len(b)-off, 0))
	}
	h := ChunkHeader{
		Type:       binary.LittleEndian.Uint16(b[off:]),
		HeaderSize: binary.LittleEndian.Uint16(b[off+2:]),
		Size:       binary.LittleEndian.Uint32(b[off+4:]),
	}
	if int(h.HeaderSize) < minHeader || h.HeaderSize < 8 {
		return h, fmt.Errorf("offset %#x: chunk type %#04x header size %d smaller than %d", off, h.Type, h.HeaderSize, max(minHeader, 8))
	}
	if uint32(h.HeaderSize) > h.Size {
		return h, fmt.Errorf("offset %#x: chunk type %#04x header size %d larger than chunk size %d", off, h.Type, h.HeaderSize, h.Size)
	}
	if uint64(h.Size) > uint64(len(b)-off) {
		return h, fmt.Errorf("offset %#x: chunk type %#04x size %d extends past end of data (%d bytes left)", off, h.Type, h.Size, len(b)-off)
	}
	return h, nil
}

func u16(b []byte, off int) uint16 {
	if off < 0 || off+2 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint16(b[off:])
}

func u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}
