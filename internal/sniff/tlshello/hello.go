package tlshello

import (
	"errors"
	"fmt"
)

// Limits a caller should reassemble up to. A ClientHello larger than
// MaxClientHello bytes is rejected; with post-quantum key shares real ones
// are about 1.8 KiB.
const (
	MaxClientHello = 16 << 10
	// MaxClientHelloStream bounds the client stream needed to reach the end
	// of a MaxClientHello-byte ClientHello split into records of ordinary
	// size (a record header every 512 bytes at worst).
	MaxClientHelloStream = MaxClientHello + 4 + 5*(MaxClientHello/512+1)
	// MaxRecord is the largest TLS record payload accepted (2^14 plus the
	// expansion allowance of RFC 8446 section 5.2).
	MaxRecord = 16<<10 + 256
)

// Maximum number of ALPN protocols and versions kept from a ClientHello;
// further entries are counted in Truncated, not stored.
const (
	MaxALPN     = 8
	MaxVersions = 8
)

// Content and handshake types used here.
const (
	recordHandshake        = 22
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordApplicationData  = 23
	typeClientHello        = 1
	typeServerHello        = 2
	typeCertificate        = 11
)

// Extension code points looked at.
const (
	extServerName          = 0
	extALPN                = 16
	extSupportedVersions   = 43
	extQUICParams          = 0x39
	extQUICParamsDraft     = 0xffa5
	extEncryptedClientHelo = 0xfe0d
	extESNI                = 0xffce
)

var (
	// ErrNeedMore means the stream ends before the message does; the
	// accompanying need is the stream length to wait for before calling
	// again (a lower bound when further record headers are still unseen).
	ErrNeedMore = errors.New("tlshello: need more bytes")
	// ErrNotTLS means the stream does not start with a TLS handshake
	// record.
	ErrNotTLS = errors.New("tlshello: not a TLS handshake record")
	// ErrNotClientHello means the first handshake message is something
	// else (for example a server's stream).
	ErrNotClientHello = errors.New("tlshello: first handshake message is not a ClientHello")
	// ErrMalformed is wrapped by every error about a message that looks like
	// TLS but does not parse.
	ErrMalformed = errors.New("tlshello: malformed")
)

// ClientHello is what a ClientHello tells about the server it is meant for.
type ClientHello struct {
	// SNI is the first host_name of the server_name extension, lowercased
	// and without a trailing dot; empty when absent. With ECH it is the
	// outer (public) name, not the real destination.
	SNI string
	// LegacyVersion is the legacy_version field (0x0303 for TLS 1.2 and
	// 1.3).
	LegacyVersion uint16
	// ECH is set when the encrypted_client_hello extension (0xfe0d) is
	// present: the real server name is hidden.
	ECH bool
	// ESNI is set when the draft encrypted_server_name extension (0xffce)
	// is present.
	ESNI bool
	// QUIC is set when quic_transport_parameters is present.
	QUIC bool
	// Truncated counts ALPN and version entries dropped past MaxALPN and
	// MaxVersions.
	Truncated int

	alpn      [MaxALPN]string
	nALPN     uint8
	versions  [MaxVersions]uint16
	nVersions uint8
}

// ALPN returns the offered application protocols in order.
func (h *ClientHello) ALPN() []string { return h.alpn[:h.nALPN] }

// Versions returns the TLS versions offered in supported_versions, GREASE
// values removed, or the legacy version alone when that extension is
// absent.
func (h *ClientHello) Versions() []uint16 { return h.versions[:h.nVersions] }

// MaxVersion is the highest offered version, 0 if none.
func (h *ClientHello) MaxVersion() uint16 {
	var m uint16
	for _, v := range h.Versions() {
		if v > m {
			m = v
		}
	}
	return m
}

func malformed(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, off)
}

// ParseClientHello parses the client-to-server byte stream of a TLS
// connection, starting at its first record header. On ErrNeedMore, need is
// the stream length to reassemble before calling again; otherwise need is
// zero.
func ParseClientHello(stream []byte) (h ClientHello, need int, err error) {
	if err := checkRecordStart(stream); err != nil {
		return h, 0, err
	}
	if len(stream) < 9 {
		return h, 9, ErrNeedMore
	}
	recLen := int(stream[3])<<8 | int(stream[4])
	if recLen == 0 || recLen > MaxRecord {
		return h, 0, malformed("record length", 3)
	}
	if stream[5] != typeClientHello {
		return h, 0, ErrNotClientHello
	}
	if recLen >= 4 {
		msgLen := int(stream[6])<<16 | int(stream[7])<<8 | int(stream[8])
		total := 4 + msgLen
		if msgLen > MaxClientHello {
			return h, 0, malformed("ClientHello too large", 6)
		}
		if total <= recLen {
			// The usual case: one record holds the whole message.
			if len(stream) < 5+total {
				return h, 5 + total, ErrNeedMore
			}
			err := parseClientHelloBody(stream[9:5+total], 9, &h)
			return h, 0, err
		}
	}
	err = parseSpanning(stream, &h, &need)
	return h, need, err
}

// parseSpanning handles a ClientHello split over several records by
// gathering it into a stack buffer; it is a separate function so that the
// common single-record path keeps a small stack frame.
//
//go:noinline
func parseSpanning(stream []byte, h *ClientHello, need *int) error {
	var hdr [4]byte
	n, err := gather(stream, hdr[:])
	if err != nil {
		*need = n
		return err
	}
	if hdr[0] != typeClientHello {
		return ErrNotClientHello
	}
	msgLen := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if msgLen > MaxClientHello {
		return malformed("ClientHello too large", 6)
	}
	var buf [MaxClientHello + 4]byte
	msg := buf[:4+msgLen]
	if n, err := gather(stream, msg); err != nil {
		*need = n
		return err
	}
	// Offsets in errors are relative to the reassembled message here.
	return parseClientHelloBody(msg[4:], 4, h)
}

// checkRecordStart cheaply rejects streams that cannot be TLS handshakes.
func checkRecordStart(stream []byte) error {
	if len(stream) == 0 {
		return nil
	}
	if stream[0] != recordHandshake {
		return ErrNotTLS
	}
	if len(stream) >= 2 && stream[1] != 3 {
		return ErrNotTLS
	}
	if len(stream) >= 3 && stream[2] > 4 {
		return ErrNotTLS
	}
	return nil
}

// gather fills dst with the payload bytes of consecutive handshake records
// at the start of stream. When stream ends first it returns ErrNeedMore
// and the stream length to wait for.
func gather(stream, dst []byte) (need int, err error) {
	off, n := 0, 0
	for n < len(dst) {
		if len(stream)-off < 5 {
			return off + 5 + (len(dst) - n), ErrNeedMore
		}
		if stream[off] != recordHandshake {
			return 0, malformed(fmt.Sprintf("record type %d inside a handshake message", stream[off]), off)
		}
		if stream[off+1] != 3 {
			return 0, malformed("record version", off+1)
		}
		recLen := int(stream[off+3])<<8 | int(stream[off+4])
		if recLen == 0 || recLen > MaxRecord {
			return 0, malformed("record length", off+3)
		}
		end := off + 5 + recLen
		if end > len(stream) {
			want := len(dst) - n
			if want > recLen {
				return end, ErrNeedMore
			}
			if off+5+want > len(stream) {
				return off + 5 + want, ErrNeedMore
			}
			// The rest of the message has arrived even though its
			// record has not ended.
			end = off + 5 + want
		}
		n += copy(dst[n:], stream[off+5:end])
		off = end
	}
	return 0, nil
}

// ParseClientHelloMessage parses a bare ClientHello handshake message (type
// byte, 24-bit length, body), as carried in QUIC CRYPTO frames. On
// ErrNeedMore, need is the message length to wait for.
func ParseClientHelloMessage(msg []byte) (h ClientHello, need int, err error) {
	if len(msg) < 4 {
		if len(msg) > 0 && msg[0] != typeClientHello {
			return h, 0, ErrNotClientHello
		}
		return h, 4, ErrNeedMore
	}
	if msg[0] != typeClientHello {
		return h, 0, ErrNotClientHello
	}
	msgLen := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if msgLen > MaxClientHello {
		return h, 0, malformed("ClientHello too large", 1)
	}
	if len(msg) < 4+msgLen {
		return h, 4 + msgLen, ErrNeedMore
	}
	err = parseClientHelloBody(msg[4:4+msgLen], 4, &h)
	return h, 0, err
}

// reader is a bounds-checked cursor; base is the offset of b[0] in the
// caller's input, for error messages.
type reader struct {
	b    []byte
	off  int
	base int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8() (int, bool) {
	if r.off+1 > len(r.b) {
		return 0, false
	}
	v := int(r.b[r.off])
	r.off++
	return v, true
}

func (r *reader) u16() (int, bool) {
	if r.off+2 > len(r.b) {
		return 0, false
	}
	v := int(r.b[r.off])<<8 | int(r.b[r.off+1])
	r.off += 2
	return v, true
}

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, false
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v, true
}

func (r *reader) fail(what string) error { return malformed(what, r.base+r.off) }

func parseClientHelloBody(body []byte, base int, h *ClientHello) error {
	r := reader{b: body, base: base}
	v, ok := r.u16()
	if !ok {
		return r.fail("legacy_version")
	}
	h.LegacyVersion = uint16(v)
	if _, ok := r.bytes(32); !ok {
		return r.fail("random")
	}
	n, ok := r.u8()
	if !ok || n > 32 {
		return r.fail("session_id")
	}
	if _, ok := r.bytes(n); !ok {
		return r.fail("session_id")
	}
	n, ok = r.u16()
	if !ok || n < 2 || n%2 != 0 {
		return r.fail("cipher_suites")
	}
	if _, ok := r.bytes(n); !ok {
		return r.fail("cipher_suites")
	}
	n, ok = r.u8()
	if !ok || n < 1 {
		return r.fail("compression_methods")
	}
	if _, ok := r.bytes(n); !ok {
		return r.fail("compression_methods")
	}
	sawVersions := false
	if r.left() > 0 {
		n, ok = r.u16()
		if !ok || n != r.left() {
			return r.fail("extensions length")
		}
		for r.left() > 0 {
			typ, ok1 := r.u16()
			l, ok2 := r.u16()
			if !ok1 || !ok2 {
				return r.fail("extension header")
			}
			start := r.off
			data, ok := r.bytes(l)
			if !ok {
				return r.fail("extension length")
			}
			er := reader{b: data, base: base + start}
			var err error
			switch typ {
			case extServerName:
				if h.SNI == "" {
					err = parseSNI(&er, h)
				}
			case extALPN:
				if h.nALPN == 0 {
					err = parseALPN(&er, h)
				}
			case extSupportedVersions:
				if !sawVersions {
					sawVersions = true
					err = parseVersions(&er, h)
				}
			case extEncryptedClientHelo:
				h.ECH = true
			case extESNI:
				h.ESNI = true
			case extQUICParams, extQUICParamsDraft:
				h.QUIC = true
			}
			if err != nil {
				return err
			}
		}
	}
	if !sawVersions || h.nVersions == 0 {
		h.versions[0] = h.LegacyVersion
		h.nVersions = 1
	}
	return nil
}

func parseSNI(r *reader, h *ClientHello) error {
	n, ok := r.u16()
	if !ok || n != r.left() {
		return r.fail("server_name list length")
	}
	for r.left() > 0 {
		typ, ok1 := r.u8()
		l, ok2 := r.u16()
		if !ok1 || !ok2 {
			return r.fail("server_name entry")
		}
		at := r.off
		name, ok := r.bytes(l)
		if !ok {
			return r.fail("server_name length")
		}
		if typ != 0 || h.SNI != "" {
			continue
		}
		s, err := hostString(name)
		if err != nil {
			return malformed(err.Error(), r.base+at)
		}
		h.SNI = s
	}
	return nil
}

// hostString lowercases a host name and drops one trailing dot, allocating
// only the returned string.
func hostString(name []byte) (string, error) {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if len(name) == 0 {
		return "", errors.New("empty server name")
	}
	if len(name) > 255 {
		return "", errors.New("server name longer than 255 bytes")
	}
	var buf [255]byte
	for i, c := range name {
		if c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("server name byte 0x%02x", c)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(name)]), nil
}

func parseALPN(r *reader, h *ClientHello) error {
	n, ok := r.u16()
	if !ok || n != r.left() || n == 0 {
		return r.fail("ALPN list length")
	}
	for r.left() > 0 {
		l, ok := r.u8()
		if !ok || l == 0 {
			return r.fail("ALPN protocol length")
		}
		p, ok := r.bytes(l)
		if !ok {
			return r.fail("ALPN protocol length")
		}
		if int(h.nALPN) == MaxALPN {
			h.Truncated++
			continue
		}
		h.alpn[h.nALPN] = alpnString(p)
		h.nALPN++
	}
	return nil
}

// alpnString interns the registered identifiers browsers and apps send, so
// the common case allocates nothing.
func alpnString(p []byte) string {
	switch string(p) {
	case "h2":
		return "h2"
	case "http/1.1":
		return "http/1.1"
	case "h3":
		return "h3"
	case "http/1.0":
		return "http/1.0"
	case "h3-29":
		return "h3-29"
	case "spdy/3.1":
		return "spdy/3.1"
	case "acme-tls/1":
		return "acme-tls/1"
	case "dot":
		return "dot"
	case "doq":
		return "doq"
	case "hq-interop":
		return "hq-interop"
	case "h2c":
		return "h2c"
	case "mqtt":
		return "mqtt"
	case "xmpp-client":
		return "xmpp-client"
	case "imap":
		return "imap"
	case "pop3":
		return "pop3"
	case "smb":
		return "smb"
	}
	return string(p)
}

func parseVersions(r *reader, h *ClientHello) error {
	n, ok := r.u8()
	if !ok || n != r.left() || n%2 != 0 {
		return r.fail("supported_versions length")
	}
	for r.left() > 0 {
		v, _ := r.u16()
		if isGREASE(uint16(v)) {
			continue
		}
		if int(h.nVersions) == MaxVersions {
			h.Truncated++
			continue
		}
		h.versions[h.nVersions] = uint16(v)
		h.nVersions++
	}
	return nil
}

// isGREASE reports the reserved values of RFC 8701 (0x0a0a, 0x1a1a, ...).
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }
