package quic

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// MaxCrypto bounds the CRYPTO stream an Assembler keeps: the largest
// ClientHello tlshello accepts plus its handshake header.
const MaxCrypto = tlshello.MaxClientHello + 4

// maxPending bounds the out-of-order CRYPTO fragments held at once; browsers
// split their ClientHello into a handful (Chrome's "chaos protection").
const maxPending = 64

// Info is what a connection's client Initials told.
type Info struct {
	Version uint32
	// DCID is the Destination Connection ID the Initial keys derive from
	// (the client's first, or the one a Retry assigned); SCID is the
	// client's Source Connection ID.
	DCID, SCID ConnID
	// Packets counts the Initial packets decrypted.
	Packets int
	Hello   tlshello.ClientHello
}

type span struct{ start, end int }

// Assembler reassembles the client's Initial CRYPTO stream of one QUIC
// connection, across Initial packets, until the ClientHello is complete.
// The zero value is ready to use. It is not safe for concurrent use; it
// holds at most MaxCrypto bytes of stream plus one datagram.
type Assembler struct {
	info    Info
	cs      *cipherState
	largest int64 // largest packet number decrypted, -1 before any
	started bool
	done    bool

	scratch []byte // decryption buffer, reused
	mask    [16]byte
	crypto  []byte // CRYPTO stream bytes, by offset
	prefix  int    // crypto[:prefix] is contiguous from offset 0
	pending []span // received fragments beyond prefix
}

// Reset makes the Assembler ready for another connection, keeping its
// buffers.
func (a *Assembler) Reset() {
	*a = Assembler{scratch: a.scratch[:0], crypto: a.crypto[:0], pending: a.pending[:0]}
}

// Done reports whether the ClientHello is complete.
func (a *Assembler) Done() bool { return a.done }

// Info returns what was learned; Info().Hello is meaningful once Done.
func (a *Assembler) Info() Info { return a.info }

// ParseClientInitial decrypts a lone client datagram; ErrNeedMore means the
// ClientHello continues in another datagram (use an Assembler).
func ParseClientInitial(datagram []byte) (Info, error) {
	// Reject before the Assembler exists: it escapes to the heap.
	if h, err := parseLong(datagram); err != nil {
		return Info{}, err
	} else if h.typ != initialType(h.version) {
		return Info{}, ErrNotInitial
	}
	var a Assembler
	err := a.Add(datagram)
	return a.info, err
}

// Add feeds one client-to-server UDP payload. It returns nil once the
// ClientHello is complete (and for any datagram after that), ErrNeedMore
// while more Initial packets are needed, and otherwise why the datagram is
// of no use: ErrNotQUIC, ErrGoogleQUIC, ErrUnsupportedVersion and
// ErrNotInitial come back before any allocation; ErrDecrypt and
// ErrMalformed after an attempt. A flow tracker typically gives up on the
// flow at the first error that is not ErrNeedMore, or after a few
// datagrams.
func (a *Assembler) Add(datagram []byte) error {
	if a.done {
		return nil
	}
	h, err := parseLong(datagram)
	if err != nil {
		return err
	}
	if h.typ != initialType(h.version) {
		return ErrNotInitial
	}
	if a.started && h.version != a.info.Version {
		return fmt.Errorf("%w: version %#08x after %#08x", ErrUnsupportedVersion, h.version, a.info.Version)
	}
	opened := 0
	var firstErr error
	for off := 0; ; {
		if h.typ == initialType(h.version) && (!a.started || h.version == a.info.Version) {
			if err := a.addPacket(datagram[off:off+h.end], h); err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("packet at offset %d: %w", off, err)
				}
			} else {
				opened++
			}
		}
		// Coalesced packets may follow (RFC 9000 section 12.2); padding or
		// a short header ends the run.
		off += h.end
		if off >= len(datagram) || datagram[off]&0x80 == 0 {
			break
		}
		if h, err = parseLong(datagram[off:]); err != nil {
			break
		}
	}
	if opened == 0 {
		return firstErr
	}
	return a.tryHello()
}

// addPacket decrypts one Initial packet and takes its frames in.
func (a *Assembler) addPacket(pkt []byte, h longHeader) error {
	if !a.started {
		k, err := ClientInitialKeys(h.version, h.dcid)
		if err != nil {
			return err
		}
		if a.cs, err = newCipherState(k); err != nil {
			return err
		}
		a.info.Version = h.version
		a.info.DCID = makeConnID(h.dcid)
		a.info.SCID = makeConnID(h.scid)
		a.largest = -1
		a.started = true
	}
	plain, pn, err := a.open(pkt, h, a.cs)
	if errors.Is(err, ErrDecrypt) && !bytes.Equal(h.dcid, a.info.DCID.b[:a.info.DCID.n]) {
		// A Retry gives the client a new Destination Connection ID, and
		// new Initial keys derive from it.
		k, kerr := ClientInitialKeys(h.version, h.dcid)
		if kerr != nil {
			return kerr
		}
		cs, cerr := newCipherState(k)
		if cerr != nil {
			return cerr
		}
		var perr error
		if plain, pn, perr = a.open(pkt, h, cs); perr == nil {
			a.cs, err = cs, nil
			a.info.DCID = makeConnID(h.dcid)
			a.resetCrypto()
		}
	}
	if err != nil {
		return err
	}
	if int64(pn) > a.largest {
		a.largest = int64(pn)
	}
	a.info.Packets++
	return a.frames(plain)
}

// open removes header protection and decrypts a copy of pkt.
func (a *Assembler) open(pkt []byte, h longHeader, cs *cipherState) (plain []byte, pn uint64, err error) {
	a.scratch = append(a.scratch[:0], pkt...)
	b := a.scratch
	cs.hp.Encrypt(a.mask[:], b[h.pnOffset+4:h.pnOffset+20])
	b[0] ^= a.mask[0] & 0x0f
	pnLen := int(b[0]&3) + 1
	var truncated uint64
	for i := 0; i < pnLen; i++ {
		b[h.pnOffset+i] ^= a.mask[1+i]
		truncated = truncated<<8 | uint64(b[h.pnOffset+i])
	}
	pn = decodePN(a.largest, truncated, pnLen)
	hdrEnd := h.pnOffset + pnLen
	if len(b)-hdrEnd < cs.aead.Overhead() {
		return nil, 0, ErrDecrypt
	}
	nonce := cs.nonce(pn)
	plain, err = cs.aead.Open(b[hdrEnd:hdrEnd], nonce[:], b[hdrEnd:], b[:hdrEnd])
	if err != nil {
		return nil, 0, ErrDecrypt
	}
	if b[0]&0x0c != 0 {
		return nil, 0, malformed("reserved header bits set", 0)
	}
	return plain, pn, nil
}

// frames walks the frames of a decrypted Initial payload. Only the frame
// types allowed in Initial packets are accepted (RFC 9000 table 3).
func (a *Assembler) frames(p []byte) error {
	off := 0
	for off < len(p) {
		typ := p[off]
		at := off
		off++
		var ok bool
		switch typ {
		case 0x00: // PADDING
			for off < len(p) && p[off] == 0 {
				off++
			}
			ok = true
		case 0x01: // PING
			ok = true
		case 0x02, 0x03: // ACK, ACK with ECN counts
			var largest, ranges, v uint64
			if largest, off, ok = varint(p, off); !ok {
				break
			}
			_ = largest
			if _, off, ok = varint(p, off); !ok { // delay
				break
			}
			if ranges, off, ok = varint(p, off); !ok || ranges > uint64(len(p)) {
				ok = false
				break
			}
			if _, off, ok = varint(p, off); !ok { // first range
				break
			}
			n := 2 * ranges
			if typ == 0x03 {
				n += 3
			}
			for i := uint64(0); i < n && ok; i++ {
				v, off, ok = varint(p, off)
			}
			_ = v
		case 0x06: // CRYPTO
			var offset, length uint64
			if offset, off, ok = varint(p, off); !ok {
				break
			}
			if length, off, ok = varint(p, off); !ok || length > uint64(len(p)-off) {
				ok = false
				break
			}
			if err := a.addCrypto(offset, p[off:off+int(length)]); err != nil {
				return err
			}
			off += int(length)
		case 0x1c: // CONNECTION_CLOSE
			var n uint64
			if _, off, ok = varint(p, off); !ok {
				break
			}
			if _, off, ok = varint(p, off); !ok {
				break
			}
			if n, off, ok = varint(p, off); !ok || n > uint64(len(p)-off) {
				ok = false
				break
			}
			off += int(n)
		default:
			return malformed(fmt.Sprintf("frame type %#x not allowed in Initial", typ), at)
		}
		if !ok {
			return malformed(fmt.Sprintf("truncated frame type %#x", typ), at)
		}
	}
	return nil
}

func (a *Assembler) resetCrypto() {
	a.crypto = a.crypto[:0]
	a.prefix = 0
	a.pending = a.pending[:0]
}

// addCrypto stores a CRYPTO fragment and advances the contiguous prefix.
func (a *Assembler) addCrypto(offset uint64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if offset > MaxCrypto || offset+uint64(len(data)) > MaxCrypto {
		return malformed(fmt.Sprintf("CRYPTO data beyond %d bytes", MaxCrypto), 0)
	}
	start, end := int(offset), int(offset)+len(data)
	if end > len(a.crypto) {
		if end > cap(a.crypto) {
			grown := make([]byte, end, max(end, 2*cap(a.crypto), 1280))
			copy(grown, a.crypto)
			a.crypto = grown
		}
		a.crypto = a.crypto[:end]
	}
	copy(a.crypto[start:end], data)
	if end <= a.prefix {
		return nil
	}
	if start > a.prefix {
		if len(a.pending) == maxPending {
			return malformed("too many out-of-order CRYPTO fragments", 0)
		}
		a.pending = append(a.pending, span{start, end})
		return nil
	}
	a.prefix = end
	for moved := true; moved; {
		moved = false
		for i := 0; i < len(a.pending); i++ {
			s := a.pending[i]
			if s.start <= a.prefix {
				a.prefix = max(a.prefix, s.end)
				a.pending[i] = a.pending[len(a.pending)-1]
				a.pending = a.pending[:len(a.pending)-1]
				i--
				moved = true
			}
		}
	}
	return nil
}

// tryHello parses the ClientHello once enough CRYPTO stream is contiguous.
func (a *Assembler) tryHello() error {
	if a.prefix == 0 {
		return ErrNeedMore
	}
	h, _, err := tlshello.ParseClientHelloMessage(a.crypto[:a.prefix])
	switch {
	case err == nil:
		a.info.Hello = h
		a.done = true
		return nil
	case errors.Is(err, tlshello.ErrNeedMore):
		return ErrNeedMore
	default:
		return fmt.Errorf("%w: CRYPTO stream: %w", ErrMalformed, err)
	}
}
