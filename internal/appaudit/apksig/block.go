package apksig

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Known APK Signing Block pair ids.
const (
	IDv2             uint32 = 0x7109871a
	IDv3             uint32 = 0xf05368c0
	IDv31            uint32 = 0x1b93ad61
	IDPadding        uint32 = 0x42726577
	IDSourceStampV1  uint32 = 0x2b09189e
	IDSourceStampV2  uint32 = 0x6dff800d
	IDDependencyInfo uint32 = 0x504b4453
	IDPlayFrosting   uint32 = 0x2146444e
	IDWalleChannel   uint32 = 0x71777777 // Meituan Walle channel info
	IDVasDolly       uint32 = 0x881155ff // Tencent VasDolly channel
)

var pairNames = map[uint32]string{
	IDv2: "v2", IDv3: "v3", IDv31: "v3.1", IDPadding: "padding",
	IDSourceStampV1: "source-stamp-v1", IDSourceStampV2: "source-stamp-v2",
	IDDependencyInfo: "dependency-info", IDPlayFrosting: "play-frosting",
	IDWalleChannel: "walle-channel", IDVasDolly: "vasdolly-channel",
}

// ErrNoSigningBlock means the file has no APK Signing Block (v1-only or
// unsigned).
var ErrNoSigningBlock = errors.New("no APK Signing Block")

const (
	blockMagic    = "APK Sig Block 42"
	maxBlockSize  = 64 << 20
	maxPairValue  = 4 << 10 // pair values kept verbatim up to this size
	eocdMinSize   = 22
	maxCommentLen = 0xffff
)

// SigningBlock is the decoded APK Signing Block.
type SigningBlock struct {
	Offset int64 // file offset of the block
	Size   int64 // whole block, size fields and magic included
	Pairs  []Pair
	V2     []Signer
	V3     []Signer
	V31    []Signer
	// Errs lists signer sections that could not be decoded.
	Errs []error
}

// Pair is one id-value pair of the block.
type Pair struct {
	ID    uint32
	Name  string // known name, or "" for an unknown id
	Len   int64
	Value []byte // the value for small pairs other than v2/v3/padding
}

// Signer is one signer of a v2/v3 scheme.
type Signer struct {
	Certificates []*Certificate // the first one is the signer's
	// MinSDK and MaxSDK are the platform range a v3 signer applies to.
	MinSDK, MaxSDK uint32
}

// FindSigningBlock locates and decodes the APK Signing Block that precedes
// the central directory, as the v2 scheme defines it. It returns
// ErrNoSigningBlock when there is none.
func FindSigningBlock(r io.ReaderAt, size int64) (*SigningBlock, error) {
	cdOff, err := centralDirectoryOffset(r, size)
	if err != nil {
		return nil, err
	}
	if cdOff < 32 {
		return nil, ErrNoSigningBlock
	}
	var foot [24]byte
	if _, err := r.ReadAt(foot[:], cdOff-24); err != nil {
		return nil, fmt.Errorf("apksig: reading block footer: %w", err)
	}
	if string(foot[8:]) != blockMagic {
		return nil, ErrNoSigningBlock
	}
	bsize := binary.LittleEndian.Uint64(foot[:8])
	if bsize < 24 || bsize > maxBlockSize || int64(bsize)+8 > cdOff {
		return nil, fmt.Errorf("apksig: signing block size %d invalid (central directory at %d)", bsize, cdOff)
	}
	start := cdOff - int64(bsize) - 8
	blk := make([]byte, bsize+8)
	if _, err := r.ReadAt(blk, start); err != nil {
		return nil, fmt.Errorf("apksig: reading signing block: %w", err)
	}
	if binary.LittleEndian.Uint64(blk) != bsize {
		return nil, fmt.Errorf("apksig: signing block size fields differ (%d, %d)", binary.LittleEndian.Uint64(blk), bsize)
	}
	sb := &SigningBlock{Offset: start, Size: int64(bsize) + 8}
	pairs := blk[8 : len(blk)-24]
	for len(pairs) > 0 {
		if len(pairs) < 12 {
			return nil, fmt.Errorf("apksig: signing block: truncated pair at %d", start+int64(len(blk)-24-len(pairs)))
		}
		l := binary.LittleEndian.Uint64(pairs)
		if l < 4 || l > uint64(len(pairs)-8) {
			return nil, fmt.Errorf("apksig: signing block: pair length %d exceeds the block", l)
		}
		id := binary.LittleEndian.Uint32(pairs[8:])
		val := pairs[12 : 8+l]
		p := Pair{ID: id, Name: pairNames[id], Len: int64(len(val))}
		switch id {
		case IDv2, IDv3, IDv31:
			signers, errs := parseSigners(val, id != IDv2)
			switch id {
			case IDv2:
				sb.V2 = signers
			case IDv3:
				sb.V3 = signers
			default:
				sb.V31 = signers
			}
			for _, e := range errs {
				sb.Errs = append(sb.Errs, fmt.Errorf("%s: %w", p.Name, e))
			}
		case IDPadding:
		default:
			if len(val) <= maxPairValue {
				p.Value = bytes.Clone(val)
			}
		}
		sb.Pairs = append(sb.Pairs, p)
		pairs = pairs[8+l:]
	}
	return sb, nil
}

// lp splits a uint32-length-prefixed field off b.
func lp(b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("truncated length prefix")
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(b)-4)
	}
	return b[4 : 4+n], b[4+n:], nil
}

// parseSigners decodes a v2/v3 scheme block: a length-prefixed sequence of
// length-prefixed signers, each starting with its length-prefixed signed
// data (digests, certificates, [v3: minSdk, maxSdk,] attributes).
func parseSigners(val []byte, v3 bool) ([]Signer, []error) {
	seq, _, err := lp(val)
	if err != nil {
		return nil, []error{err}
	}
	var out []Signer
	var errs []error
	for i := 0; len(seq) > 0; i++ {
		var signer []byte
		if signer, seq, err = lp(seq); err != nil {
			return out, append(errs, fmt.Errorf("signer %d: %w", i, err))
		}
		s, err := parseSigner(signer, v3)
		if err != nil {
			errs = append(errs, fmt.Errorf("signer %d: %w", i, err))
			continue
		}
		out = append(out, s)
	}
	return out, errs
}

func parseSigner(b []byte, v3 bool) (Signer, error) {
	var s Signer
	signed, rest, err := lp(b)
	if err != nil {
		return s, err
	}
	if v3 && len(rest) >= 8 {
		s.MinSDK = binary.LittleEndian.Uint32(rest)
		s.MaxSDK = binary.LittleEndian.Uint32(rest[4:])
	}
	_, signed, err = lp(signed) // digests
	if err != nil {
		return s, fmt.Errorf("digests: %w", err)
	}
	certs, _, err := lp(signed)
	if err != nil {
		return s, fmt.Errorf("certificates: %w", err)
	}
	for len(certs) > 0 {
		var der []byte
		if der, certs, err = lp(certs); err != nil {
			return s, fmt.Errorf("certificate %d: %w", len(s.Certificates), err)
		}
		c, err := ParseCertificate(der)
		if err != nil {
			return s, fmt.Errorf("certificate %d: %w", len(s.Certificates), err)
		}
		s.Certificates = append(s.Certificates, c)
	}
	if len(s.Certificates) == 0 {
		return s, errors.New("no certificate")
	}
	return s, nil
}

// centralDirectoryOffset finds the End of Central Directory record (and the
// ZIP64 one when the offset overflows 32 bits).
func centralDirectoryOffset(r io.ReaderAt, size int64) (int64, error) {
	if size < eocdMinSize {
		return 0, errors.New("apksig: file too small for a ZIP")
	}
	n := min(size, eocdMinSize+maxCommentLen)
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("apksig: reading ZIP end: %w", err)
	}
	for i := len(tail) - eocdMinSize; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) != 0x06054b50 {
			continue
		}
		if int(binary.LittleEndian.Uint16(tail[i+20:]))+i+eocdMinSize != len(tail) {
			continue // a signature inside the comment
		}
		eocd := size - n + int64(i)
		off := int64(binary.LittleEndian.Uint32(tail[i+16:]))
		if off == 0xffffffff && eocd >= 20 {
			var loc [20]byte
			if _, err := r.ReadAt(loc[:], eocd-20); err == nil && binary.LittleEndian.Uint32(loc[:]) == 0x07064b50 {
				z64 := int64(binary.LittleEndian.Uint64(loc[8:]))
				var rec [56]byte
				if z64 >= 0 && z64 < size {
					if _, err := r.ReadAt(rec[:], z64); err == nil && binary.LittleEndian.Uint32(rec[:]) == 0x06064b50 {
						off = int64(binary.LittleEndian.Uint64(rec[48:]))
					}
				}
			}
		}
		if off < 0 || off > eocd {
			return 0, fmt.Errorf("apksig: central directory offset %d beyond the end record at %d", off, eocd)
		}
		return off, nil
	}
	return 0, errors.New("apksig: no ZIP end of central directory record")
}
