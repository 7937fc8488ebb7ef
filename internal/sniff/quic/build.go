package quic

import (
	"errors"
	"fmt"
)

// MinInitialDatagram is the size a client pads its Initial datagrams to
// (RFC 9000 section 14.1).
const MinInitialDatagram = 1200

// ErrTooLarge means a ClientHello does not fit the datagrams asked for.
var ErrTooLarge = errors.New("quic: ClientHello does not fit")

// appendVarint encodes v in the shortest QUIC varint form.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x40|byte(v>>8), byte(v))
	case v < 1<<30:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// SealClientInitial builds one protected client Initial packet of the
// given version carrying payload (already-encoded frames) with packet
// number pn, encoded on four bytes. Keys derive from dcid. A payload too
// short to sample for header protection is padded with PADDING frames.
func SealClientInitial(version uint32, dcid, scid, token []byte, pn uint32, payload []byte) ([]byte, error) {
	return seal(version, dcid, dcid, scid, token, pn, payload)
}

// seal is SealClientInitial with keys derived from keyDCID, which differs
// from dcid in a connection's later Initials.
func seal(version uint32, keyDCID, dcid, scid, token []byte, pn uint32, payload []byte) ([]byte, error) {
	if len(dcid) > MaxConnIDLen || len(scid) > MaxConnIDLen {
		return nil, fmt.Errorf("quic: connection ID longer than %d bytes", MaxConnIDLen)
	}
	k, err := ClientInitialKeys(version, keyDCID)
	if err != nil {
		return nil, err
	}
	cs, err := newCipherState(k)
	if err != nil {
		return nil, err
	}
	const pnLen = 4
	if len(payload) < 16 {
		payload = append(append([]byte(nil), payload...), make([]byte, 16-len(payload))...)
	}
	length := uint64(pnLen + len(payload) + cs.aead.Overhead())
	b := []byte{0xc0 | initialType(version)<<4 | (pnLen - 1), byte(version >> 24), byte(version >> 16), byte(version >> 8), byte(version)}
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = appendVarint(b, uint64(len(token)))
	b = append(b, token...)
	// A two-byte length keeps the header size independent of the exact
	// payload size, which BuildClientInitial relies on.
	if length >= 1<<14 {
		return nil, fmt.Errorf("%w: packet of %d bytes", ErrTooLarge, length)
	}
	b = append(b, 0x40|byte(length>>8), byte(length))
	pnOffset := len(b)
	b = append(b, byte(pn>>24), byte(pn>>16), byte(pn>>8), byte(pn))
	hdrEnd := len(b)
	nonce := cs.nonce(uint64(pn))
	b = cs.aead.Seal(b, nonce[:], payload, b[:hdrEnd])
	var mask [16]byte
	cs.hp.Encrypt(mask[:], b[pnOffset+4:pnOffset+20])
	b[0] ^= mask[0] & 0x0f
	for i := 0; i < pnLen; i++ {
		b[pnOffset+i] ^= mask[1+i]
	}
	return b, nil
}

// headerLen is the size of the header SealClientInitial writes.
func headerLen(dcid, scid []byte) int {
	return 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + 4
}

// cryptoFrame appends a CRYPTO frame.
func cryptoFrame(b []byte, offset uint64, data []byte) []byte {
	b = append(b, 0x06)
	b = appendVarint(b, offset)
	b = appendVarint(b, uint64(len(data)))
	return append(b, data...)
}

// BuildClientInitial returns a client's first datagram: one Initial packet
// (packet number 0) carrying clientHello in a CRYPTO frame, padded to
// exactly 1200 bytes. clientHello is the bare handshake message, as
// tlshello.BuildQUICClientHello makes; a TLS record header in front of it
// is removed. ErrTooLarge means it needs BuildClientInitials.
func BuildClientInitial(version uint32, dcid, scid, clientHello []byte) ([]byte, error) {
	d, err := BuildClientInitials(version, dcid, scid, clientHello)
	if err != nil {
		return nil, err
	}
	if len(d) != 1 {
		return nil, fmt.Errorf("%w: %d-byte ClientHello needs %d datagrams", ErrTooLarge, len(clientHello), len(d))
	}
	return d[0], nil
}

// BuildClientInitials is BuildClientInitial for ClientHellos of any size up
// to tlshello.MaxClientHello: it spreads the CRYPTO stream over as many
// 1200-byte datagrams as needed, with packet numbers 0, 1, ...
func BuildClientInitials(version uint32, dcid, scid, clientHello []byte) ([][]byte, error) {
	if !Supported(version) {
		return nil, fmt.Errorf("quic: version %#08x: %w", version, ErrUnsupportedVersion)
	}
	if len(clientHello) >= 5 && clientHello[0] == 22 && clientHello[1] == 3 {
		clientHello = clientHello[5:]
	}
	if len(clientHello) == 0 || len(clientHello) > MaxCrypto {
		return nil, fmt.Errorf("%w: ClientHello of %d bytes", ErrTooLarge, len(clientHello))
	}
	room := MinInitialDatagram - headerLen(dcid, scid) - 16 // AEAD tag
	var out [][]byte
	for off := 0; off < len(clientHello); {
		// CRYPTO frame header: type, offset and length varints (at most
		// 1+4+2 bytes for streams under 16 KiB).
		n := min(len(clientHello)-off, room-7)
		if n <= 0 {
			return nil, fmt.Errorf("%w: connection IDs leave no room", ErrTooLarge)
		}
		frames := cryptoFrame(nil, uint64(off), clientHello[off:off+n])
		frames = append(frames, make([]byte, room-len(frames))...) // PADDING
		pkt, err := SealClientInitial(version, dcid, scid, nil, uint32(len(out)), frames)
		if err != nil {
			return nil, err
		}
		out = append(out, pkt)
		off += n
	}
	return out, nil
}
