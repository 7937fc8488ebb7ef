// Package wire reads and writes the few parts of DNS messages that the
// resolver's hot path touches, straight on the bytes and without
// allocating: a client's query (header, question, EDNS OPT), answers for
// blocked names and errors, and a cached response re-stamped for a new
// client (ID, question case, decremented TTLs, OPT, truncation).
//
// Everything a client sends goes through ParseQuery first; it rejects what
// it cannot read and never panics. Full message handling (upstream
// responses, CNAME chains) uses miekg/dns in the resolver.
//
// It must never import other outflow packages.
package wire

import (
	"encoding/binary"
	"errors"
)

// Header flags and codes.
const (
	FlagQR = 1 << 15
	FlagAA = 1 << 10
	FlagTC = 1 << 9
	FlagRD = 1 << 8
	FlagRA = 1 << 7
	FlagAD = 1 << 5
	FlagCD = 1 << 4

	RcodeSuccess  = 0
	RcodeFormErr  = 1
	RcodeServFail = 2
	RcodeNXDomain = 3
	RcodeNotImp   = 4
	RcodeRefused  = 5

	TypeA     = 1
	TypeNS    = 2
	TypeCNAME = 5
	TypeSOA   = 6
	TypeAAAA  = 28
	TypeOPT   = 41
	TypeSVCB  = 64
	TypeHTTPS = 65
	TypeAXFR  = 252
	TypeIXFR  = 251
	TypeANY   = 255
	ClassINET = 1

	HeaderLen = 12
	// MaxName is the longest wire name.
	MaxName = 255
	// MinUDPSize is the answer size every client accepts over UDP.
	MinUDPSize = 512
)

// EDE info codes (RFC 8914) the resolver sends.
const (
	EDEBlocked  = 15
	EDEFiltered = 17
	EDEStale    = 3
)

// Errors of ParseQuery. ErrHeader means not even a header: drop the
// packet. The others can be answered with FORMERR or NOTIMP.
var (
	ErrHeader   = errors.New("wire: shorter than a DNS header")
	ErrResponse = errors.New("wire: a response, not a query")
	ErrOpcode   = errors.New("wire: opcode is not QUERY")
	ErrFormat   = errors.New("wire: malformed query")
)

// Query is a client's question. Its slices point into the packet.
type Query struct {
	ID     uint16
	Flags  uint16 // header flags as sent (RD, CD, opcode)
	QName  []byte // wire name as sent, case preserved
	QType  uint16
	QClass uint16
	QEnd   int // offset just after the question

	EDNS    bool
	UDPSize uint16 // the client's EDNS buffer size (0 without EDNS)
	DO      bool
	Version uint8
}

// MaxUDP is the largest answer the client accepts over UDP.
func (q *Query) MaxUDP() int {
	if !q.EDNS || q.UDPSize < MinUDPSize {
		return MinUDPSize
	}
	return int(q.UDPSize)
}

// ParseQuery reads a client's query. It accepts one question with an
// uncompressed name, no answer or authority records and, in the additional
// section, at most one OPT record (other additional records, such as TSIG,
// are refused as malformed: this resolver does not sign).
func ParseQuery(b []byte, q *Query) error {
	*q = Query{}
	if len(b) < HeaderLen {
		return ErrHeader
	}
	q.ID = binary.BigEndian.Uint16(b)
	q.Flags = binary.BigEndian.Uint16(b[2:])
	if q.Flags&FlagQR != 0 {
		return ErrResponse
	}
	if (q.Flags>>11)&0xF != 0 {
		return ErrOpcode
	}
	qd, an, ns, ar := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	if qd != 1 || an != 0 || ns != 0 || ar > 1 {
		return ErrFormat
	}
	off := HeaderLen
	start := off
	for {
		if off >= len(b) {
			return ErrFormat
		}
		l := int(b[off])
		if l&0xC0 != 0 {
			return ErrFormat // a pointer (or reserved bits) in the question
		}
		off++
		if l == 0 {
			break
		}
		off += l
		if off-start > MaxName-1 {
			return ErrFormat
		}
	}
	q.QName = b[start:off]
	if off+4 > len(b) {
		return ErrFormat
	}
	q.QType = binary.BigEndian.Uint16(b[off:])
	q.QClass = binary.BigEndian.Uint16(b[off+2:])
	off += 4
	q.QEnd = off
	if ar == 1 {
		// OPT: root name, type 41, class = UDP size, ttl = ext rcode,
		// version, flags; rdlength and options.
		if off+11 > len(b) || b[off] != 0 || binary.BigEndian.Uint16(b[off+1:]) != TypeOPT {
			return ErrFormat
		}
		q.EDNS = true
		q.UDPSize = binary.BigEndian.Uint16(b[off+3:])
		q.Version = b[off+6]
		q.DO = b[off+7]&0x80 != 0
		rdlen := int(binary.BigEndian.Uint16(b[off+9:]))
		if off+11+rdlen != len(b) {
			return ErrFormat
		}
	} else if off != len(b) {
		return ErrFormat
	}
	return nil
}

// ParseHeaderID returns the ID of anything at least a header long, to
// answer FORMERR to a query that failed ParseQuery.
func ParseHeaderID(b []byte) (id uint16, flags uint16, ok bool) {
	if len(b) < HeaderLen {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), true
}

// AppendName appends the presentation form of a wire name, lowercased and
// without the trailing dot ("www.example.com"), as the catalog and policy
// want it. Bytes that would make it ambiguous are escaped as dig prints
// them (RFC 1035 section 5.1, RFC 4343): a dot, backslash or other special
// character inside a label as \. or \\, a byte outside printable ASCII
// as \DDD in decimal, so that the labels [www.tiktok][com] read
// www\.tiktok.com, never www.tiktok.com. ok is false for names with bytes
// that never occur in a hostname (they are resolved but cannot match a
// name rule or catalog entry).
func AppendName(dst []byte, wireName []byte) ([]byte, bool) {
	ok := true
	for i := 0; i < len(wireName); {
		l := int(wireName[i])
		if l == 0 || l&0xC0 != 0 || i+1+l > len(wireName) {
			break
		}
		if i > 0 {
			dst = append(dst, '.')
		}
		for _, c := range wireName[i+1 : i+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				ok = false
				switch {
				case c <= ' ' || c >= 0x7F:
					dst = append(dst, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
					continue
				case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
					dst = append(dst, '\\')
				}
			}
			dst = append(dst, c)
		}
		i += 1 + l
	}
	return dst, ok
}

// AppendKey appends a cache key for the question: the wire name
// lowercased, type, class and the DO and CD bits.
func AppendKey(dst []byte, q *Query) []byte {
	for _, c := range q.QName {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	var bits byte
	if q.DO {
		bits |= 1
	}
	if q.Flags&FlagCD != 0 {
		bits |= 2
	}
	return append(dst, byte(q.QType>>8), byte(q.QType), byte(q.QClass>>8), byte(q.QClass), bits)
}

// header writes a response header for q into dst[:12].
func header(dst []byte, q *Query, rcode int, an, ar uint16) {
	binary.BigEndian.PutUint16(dst, q.ID)
	flags := FlagQR | FlagRA | q.Flags&(FlagRD|FlagCD) | uint16(rcode&0xF)
	binary.BigEndian.PutUint16(dst[2:], flags)
	binary.BigEndian.PutUint16(dst[4:], 1)
	binary.BigEndian.PutUint16(dst[6:], an)
	binary.BigEndian.PutUint16(dst[8:], 0)
	binary.BigEndian.PutUint16(dst[10:], ar)
}

// AppendError appends an answer with only the question and an rcode (and
// an OPT record when the client sent one).
func AppendError(dst []byte, q *Query, req []byte, rcode int) []byte {
	return appendSynth(dst, q, req, rcode, nil, 0, 0, "")
}

// AppendFormErr answers a query that ParseQuery refused but whose header
// was readable: the header only, with FORMERR (or NOTIMP for an opcode).
func AppendFormErr(dst []byte, id, flags uint16, rcode int) []byte {
	var h [HeaderLen]byte
	binary.BigEndian.PutUint16(h[:], id)
	binary.BigEndian.PutUint16(h[2:], FlagQR|flags&(0xF<<11|FlagRD)|uint16(rcode&0xF))
	return append(dst, h[:]...)
}

// AppendBlocked appends the answer to a blocked query: rcode (NXDOMAIN,
// REFUSED or NOERROR), and for NOERROR an A or AAAA record with addr when
// it has the question's type (else no data). When the client sent EDNS, an
// OPT record carries an Extended DNS Error (RFC 8914) with info code and
// text (the rule id).
func AppendBlocked(dst []byte, q *Query, req []byte, rcode int, addr []byte, ttl uint32, ede uint16, text string) []byte {
	return appendSynth(dst, q, req, rcode, addr, ttl, ede, text)
}

func appendSynth(dst []byte, q *Query, req []byte, rcode int, addr []byte, ttl uint32, ede uint16, text string) []byte {
	var an, ar uint16
	withAddr := rcode == RcodeSuccess && (len(addr) == 4 && q.QType == TypeA || len(addr) == 16 && q.QType == TypeAAAA)
	if withAddr {
		an = 1
	}
	if q.EDNS {
		ar = 1
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...)
	header(dst[start:], q, rcode, an, ar)
	dst = append(dst, req[HeaderLen:q.QEnd]...)
	if withAddr {
		dst = append(dst, 0xC0, HeaderLen) // pointer to the question name
		dst = binary.BigEndian.AppendUint16(dst, q.QType)
		dst = binary.BigEndian.AppendUint16(dst, ClassINET)
		dst = binary.BigEndian.AppendUint32(dst, ttl)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(addr)))
		dst = append(dst, addr...)
	}
	if q.EDNS {
		dst = AppendOPT(dst, q.DO, ede, text)
	}
	return dst
}

// ServerUDPSize is the EDNS buffer size this server announces (the DNS
// flag day 2020 value, which avoids IP fragmentation).
const ServerUDPSize = 1232

// AppendOPT appends an OPT record with the server's size, the DO bit, and
// an Extended DNS Error option when ede is not zero (text is cut at 200
// bytes).
func AppendOPT(dst []byte, do bool, ede uint16, text string) []byte {
	dst = append(dst, 0, 0, TypeOPT, byte(ServerUDPSize>>8), byte(ServerUDPSize&0xFF), 0, 0)
	if do {
		dst = append(dst, 0x80, 0)
	} else {
		dst = append(dst, 0, 0)
	}
	if ede == 0 {
		return append(dst, 0, 0)
	}
	if len(text) > 200 {
		text = text[:200]
	}
	optLen := 4 + 2 + len(text)
	dst = binary.BigEndian.AppendUint16(dst, uint16(optLen))
	dst = append(dst, 0, 15) // option code 15: Extended DNS Error
	dst = binary.BigEndian.AppendUint16(dst, uint16(2+len(text)))
	dst = binary.BigEndian.AppendUint16(dst, ede)
	return append(dst, text...)
}

// Truncate turns a response that does not fit the client's UDP size into
// its header and question with TC set (and the OPT record, when the client
// sent EDNS), so that the client retries over TCP. msg must hold a full
// response to q; the result reuses its bytes.
func Truncate(msg []byte, q *Query) []byte {
	if len(msg) < q.QEnd {
		return msg
	}
	out := msg[:q.QEnd]
	binary.BigEndian.PutUint16(out[2:], binary.BigEndian.Uint16(out[2:])|FlagTC)
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	if q.EDNS {
		out = AppendOPT(out, q.DO, 0, "")
		binary.BigEndian.PutUint16(out[10:], 1)
	}
	return out
}
