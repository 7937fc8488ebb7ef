package quic

import (
	"encoding/hex"
	"errors"
	"fmt"
)

var (
	// ErrNotQUIC means the datagram does not start with a QUIC long header
	// (short-header packets of an established connection look like this
	// too: only the first Initials name the server).
	ErrNotQUIC = errors.New("quic: not a QUIC long-header packet")
	// ErrGoogleQUIC means the datagram is Google QUIC (versions Q0xx),
	// whose handshake is not TLS.
	ErrGoogleQUIC = errors.New("quic: Google QUIC, not IETF QUIC")
	// ErrUnsupportedVersion means a long header of a version whose Initial
	// keys are unknown.
	ErrUnsupportedVersion = errors.New("quic: unsupported version")
	// ErrNotInitial means a QUIC packet of another type (Handshake, 0-RTT,
	// Retry, Version Negotiation) starts the datagram.
	ErrNotInitial = errors.New("quic: not an Initial packet")
	// ErrDecrypt means the packet looked like a client Initial but did not
	// decrypt with the keys of its Destination Connection ID: a server's
	// Initial, or corruption.
	ErrDecrypt = errors.New("quic: Initial packet does not decrypt")
	// ErrNeedMore means the ClientHello continues in a later Initial
	// packet: feed the flow's next datagram to the same Assembler.
	ErrNeedMore = errors.New("quic: ClientHello incomplete; feed the next Initial")
	// ErrMalformed is wrapped by errors about packets that decrypted but
	// do not parse.
	ErrMalformed = errors.New("quic: malformed")
)

// MaxConnIDLen is the longest connection ID of QUIC v1 and v2.
const MaxConnIDLen = 20

// ConnID is a connection ID held by value, so results do not alias the
// caller's datagram.
type ConnID struct {
	b [MaxConnIDLen]byte
	n uint8
}

func makeConnID(b []byte) ConnID {
	var c ConnID
	c.n = uint8(copy(c.b[:], b))
	return c
}

// Len is the connection ID length.
func (c ConnID) Len() int { return int(c.n) }

// Bytes returns a copy of the connection ID.
func (c ConnID) Bytes() []byte { return append([]byte(nil), c.b[:c.n]...) }

// String is the hexadecimal form.
func (c ConnID) String() string { return hex.EncodeToString(c.b[:c.n]) }

// longHeader is a parsed long header; slices alias the datagram.
type longHeader struct {
	version    uint32
	typ        byte // packet type bits, version-specific meaning
	dcid, scid []byte
	pnOffset   int // Initial, 0-RTT, Handshake: start of the packet number
	end        int // end of the packet within the datagram
}

// varint decodes a QUIC variable-length integer (RFC 9000 section 16).
func varint(b []byte, off int) (v uint64, next int, ok bool) {
	if off >= len(b) {
		return 0, off, false
	}
	n := 1 << (b[off] >> 6)
	if off+n > len(b) {
		return 0, off, false
	}
	v = uint64(b[off] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[off+i])
	}
	return v, off + n, true
}

// isGoogleQUIC recognises a gQUIC packet: a public header with the version
// flag and an ASCII version "Q0xx" (Q043 and older), or a long header whose
// version is "Q0xx"/"T0xx" (Q046 and later).
func isGoogleQUIC(b []byte) bool {
	gver := func(v []byte) bool {
		return (v[0] == 'Q' || v[0] == 'T') && v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9' && v[3] >= '0' && v[3] <= '9'
	}
	if len(b) < 5 {
		return false
	}
	if b[0]&0x80 != 0 {
		return gver(b[1:5])
	}
	// Public flags: 0x01 version present, 0x08 eight-byte connection ID,
	// 0x80 unused. Client hellos carry both.
	if b[0]&0x01 == 0 || b[0]&0x08 == 0 || len(b) < 13 {
		return false
	}
	return gver(b[9:13])
}

// knownFamily reports versions that are QUIC without doubt though this
// package cannot decrypt them: other IETF drafts, the withdrawn v2 draft,
// Facebook's mvfst, and the reserved greasing pattern 0x?a?a?a?a. Other
// unknown values are more likely some other protocol.
func knownFamily(v uint32) bool {
	return v>>8 == 0xff0000 || v == 0x709a50c4 || v>>4 == 0xfaceb00 || v&0x0f0f0f0f == 0x0a0a0a0a
}

// parseLong parses the long-header packet starting at b[0]. It checks
// lengths only; it does not decrypt.
func parseLong(b []byte) (h longHeader, err error) {
	if len(b) == 0 || b[0]&0x80 == 0 {
		if isGoogleQUIC(b) {
			return h, ErrGoogleQUIC
		}
		return h, ErrNotQUIC
	}
	if len(b) < 7 {
		return h, ErrNotQUIC
	}
	h.version = uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])
	if h.version == 0 {
		return h, ErrNotInitial // version negotiation
	}
	if !Supported(h.version) {
		if isGoogleQUIC(b) {
			return h, ErrGoogleQUIC
		}
		if b[0]&0x40 != 0 && b[5] <= MaxConnIDLen && knownFamily(h.version) {
			return h, ErrUnsupportedVersion
		}
		return h, ErrNotQUIC
	}
	// The fixed bit is not checked: RFC 9287 lets a client that remembers
	// grease_quic_bit clear it even in its first Initial.
	h.typ = (b[0] >> 4) & 3
	off := 5
	n := int(b[off])
	off++
	if n > MaxConnIDLen || off+n >= len(b) {
		return h, ErrNotQUIC
	}
	h.dcid = b[off : off+n]
	off += n
	n = int(b[off])
	off++
	if n > MaxConnIDLen || off+n > len(b) {
		return h, ErrNotQUIC
	}
	h.scid = b[off : off+n]
	off += n
	retry := byte(3)
	if h.version == Version2 {
		retry = 0
	}
	if h.typ == retry {
		h.end = len(b)
		return h, nil
	}
	if h.typ == initialType(h.version) {
		tl, next, ok := varint(b, off)
		if !ok || tl > uint64(len(b)-next) {
			return h, ErrNotQUIC
		}
		off = next + int(tl)
	}
	length, next, ok := varint(b, off)
	if !ok || length > uint64(len(b)-next) {
		return h, ErrNotQUIC
	}
	h.pnOffset = next
	h.end = next + int(length)
	// The header protection sample starts 4 bytes after the packet number
	// offset and is 16 bytes long.
	if h.pnOffset+4+16 > h.end {
		return h, ErrNotQUIC
	}
	return h, nil
}

// LooksLikeInitial reports, without allocating or decrypting, whether the
// datagram starts with an Initial packet of a supported version. A flow
// tracker can use it to decide whether to keep an Assembler for a flow.
func LooksLikeInitial(datagram []byte) bool {
	h, err := parseLong(datagram)
	return err == nil && h.typ == initialType(h.version)
}

// decodePN reconstructs a full packet number from its truncated encoding
// (RFC 9000 appendix A.3).
func decodePN(largest int64, truncated uint64, pnLen int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << (8 * pnLen)
	hwin := win / 2
	mask := win - 1
	candidate := (expected &^ mask) | truncated
	if candidate+hwin <= expected && candidate < (1<<62)-win {
		return candidate + win
	}
	if candidate > expected+hwin && candidate >= win {
		return candidate - win
	}
	return candidate
}

func malformed(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, off)
}
