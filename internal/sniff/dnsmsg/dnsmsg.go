package dnsmsg

import (
	"errors"
	"fmt"
	"net/netip"
)

// Resource record types the parser decodes; other types are passed to
// the visitor with their raw Data only.
const (
	TypeA     uint16 = 1
	TypeNS    uint16 = 2
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypePTR   uint16 = 12
	TypeMX    uint16 = 15
	TypeTXT   uint16 = 16
	TypeAAAA  uint16 = 28
	TypeSRV   uint16 = 33
	TypeDNAME uint16 = 39
	TypeOPT   uint16 = 41
	TypeSVCB  uint16 = 64
	TypeHTTPS uint16 = 65
)

// Response codes a flow tracker branches on.
const (
	RCodeSuccess  = 0
	RCodeServFail = 2
	RCodeNXDomain = 3
	RCodeRefused  = 5
)

// MaxHints bounds the SVCB/HTTPS ipv4hint plus ipv6hint addresses kept per
// record; further ones are counted in Record.HintsDropped.
const MaxHints = 8

var (
	// ErrMalformed is wrapped by every parse error.
	ErrMalformed = errors.New("dnsmsg: malformed message")
	// ErrNeedMore means a DNS-over-TCP stream ends inside a message.
	ErrNeedMore = errors.New("dnsmsg: need more bytes")
)

func malformed(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, off)
}

// Section tells where a record was found.
type Section uint8

const (
	Answer Section = iota + 1
	Authority
	Additional
)

func (s Section) String() string {
	switch s {
	case Answer:
		return "answer"
	case Authority:
		return "authority"
	case Additional:
		return "additional"
	}
	return "section?"
}

// Header is the fixed 12-byte header.
type Header struct {
	ID                 uint16
	Response           bool
	Opcode             uint8
	Authoritative      bool
	Truncated          bool
	RecursionDesired   bool
	RecursionAvailable bool
	// RCode is the 4-bit response code of the header; Message.RCode adds
	// the EDNS extension.
	RCode                              uint8
	QDCount, ANCount, NSCount, ARCount uint16
}

// Question is one entry of the question section.
type Question struct {
	Name  Name
	Type  uint16
	Class uint16
}

// Record is one resource record as handed to the visitor. The visitor gets
// the same *Record for every record of a message: copy what it keeps.
type Record struct {
	Section Section
	Name    Name
	Type    uint16
	Class   uint16
	TTL     uint32
	// Data is the raw RDATA; it aliases the message.
	Data []byte

	// Addr is the address of an A or AAAA record.
	Addr netip.Addr
	// Target is the name a CNAME, DNAME, NS, PTR, MX, SRV, SVCB or HTTPS
	// record points to ("." for an SVCB/HTTPS target meaning the owner
	// itself); empty for other types.
	Target Name
	// Priority is the SVCB/HTTPS SvcPriority (0: alias mode), or the MX
	// preference or SRV priority.
	Priority uint16
	// ECH is set when an SVCB/HTTPS record carries an ech parameter: the
	// client may hide its SNI from the wire.
	ECH bool
	// HintsDropped counts ipv4hint/ipv6hint addresses past MaxHints.
	HintsDropped int

	hints  [MaxHints]netip.Addr
	nHints uint8
}

// Hints returns the ipv4hint and ipv6hint addresses of an SVCB/HTTPS
// record; the slice aliases the Record.
func (r *Record) Hints() []netip.Addr { return r.hints[:r.nHints] }

// Message is the part of a message kept after Parse returns. A Message can
// be reused for the next Parse; it also holds the Record handed to the
// visitor, so that parsing allocates nothing.
type Message struct {
	Header
	// Question is the first question (QDCount is almost always 1).
	Question Question
	// EDNS is set when an OPT record was present.
	EDNS bool
	// RCode is the full response code: the header's 4 bits extended by
	// the OPT record's upper 8 bits.
	RCode uint16

	rr Record
}

// Parse parses a DNS message (a UDP payload, or a TCP message without its
// two-byte length) into m and calls visit, when not nil, for each record of the
// answer, authority and additional sections in order. visit returning
// false stops the walk without error; m then holds the header, question
// and what was seen so far.
func Parse(msg []byte, m *Message, visit func(*Record) bool) error {
	if len(msg) < 12 {
		return malformed("message shorter than its header", 0)
	}
	h := &m.Header
	h.ID = uint16(msg[0])<<8 | uint16(msg[1])
	h.Response = msg[2]&0x80 != 0
	h.Opcode = (msg[2] >> 3) & 0x0f
	h.Authoritative = msg[2]&0x04 != 0
	h.Truncated = msg[2]&0x02 != 0
	h.RecursionDesired = msg[2]&0x01 != 0
	h.RecursionAvailable = msg[3]&0x80 != 0
	h.RCode = msg[3] & 0x0f
	h.QDCount = uint16(msg[4])<<8 | uint16(msg[5])
	h.ANCount = uint16(msg[6])<<8 | uint16(msg[7])
	h.NSCount = uint16(msg[8])<<8 | uint16(msg[9])
	h.ARCount = uint16(msg[10])<<8 | uint16(msg[11])
	m.EDNS = false
	m.RCode = uint16(h.RCode)
	m.Question.Name.reset()
	m.Question.Type, m.Question.Class = 0, 0

	off := 12
	var scratch Name
	for i := 0; i < int(h.QDCount); i++ {
		dst := &m.Question.Name
		if i > 0 {
			dst = &scratch
		}
		next, err := readName(msg, off, dst)
		if err != nil {
			return fmt.Errorf("question %d: %w", i, err)
		}
		if next+4 > len(msg) {
			return malformed("question runs past the message", next)
		}
		if i == 0 {
			m.Question.Type = uint16(msg[next])<<8 | uint16(msg[next+1])
			m.Question.Class = uint16(msg[next+2])<<8 | uint16(msg[next+3])
		}
		off = next + 4
	}
	sections := [3]struct {
		s Section
		n int
	}{{Answer, int(h.ANCount)}, {Authority, int(h.NSCount)}, {Additional, int(h.ARCount)}}
	rr := &m.rr
	for _, sec := range sections {
		for i := 0; i < sec.n; i++ {
			next, err := readRecord(msg, off, rr)
			if err != nil {
				return fmt.Errorf("%s record %d: %w", sec.s, i, err)
			}
			off = next
			rr.Section = sec.s
			if rr.Type == TypeOPT {
				m.EDNS = true
				m.RCode = uint16(rr.TTL>>24)<<4 | uint16(h.RCode)
			}
			if visit != nil && !visit(rr) {
				return nil
			}
		}
	}
	return nil
}

// readRecord decodes the record at msg[off:] into rr.
func readRecord(msg []byte, off int, rr *Record) (int, error) {
	next, err := readName(msg, off, &rr.Name)
	if err != nil {
		return 0, err
	}
	if next+10 > len(msg) {
		return 0, malformed("record header runs past the message", next)
	}
	b := msg[next:]
	rr.Type = uint16(b[0])<<8 | uint16(b[1])
	rr.Class = uint16(b[2])<<8 | uint16(b[3])
	rr.TTL = uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	rdlen := int(b[8])<<8 | int(b[9])
	start := next + 10
	end := start + rdlen
	if end > len(msg) {
		return 0, malformed("RDATA runs past the message", start)
	}
	rr.Data = msg[start:end]
	rr.Addr = netip.Addr{}
	rr.Target.reset()
	rr.Priority = 0
	rr.ECH = false
	rr.HintsDropped = 0
	rr.nHints = 0
	if err := readRData(msg, start, end, rr); err != nil {
		return 0, err
	}
	return end, nil
}

func readRData(msg []byte, start, end int, rr *Record) error {
	d := msg[start:end]
	// nameAt reads a name that must begin, and end if uncompressed,
	// inside the RDATA.
	nameAt := func(off int) (int, error) {
		if off >= end {
			return 0, malformed("RDATA too short for its name", off)
		}
		next, err := readName(msg[:end], off, &rr.Target)
		if err != nil {
			return 0, err
		}
		return next, nil
	}
	switch rr.Type {
	case TypeA:
		if len(d) != 4 {
			return malformed(fmt.Sprintf("A RDATA of %d bytes", len(d)), start)
		}
		rr.Addr = netip.AddrFrom4([4]byte(d))
	case TypeAAAA:
		if len(d) != 16 {
			return malformed(fmt.Sprintf("AAAA RDATA of %d bytes", len(d)), start)
		}
		rr.Addr = netip.AddrFrom16([16]byte(d))
	case TypeCNAME, TypeDNAME, TypeNS, TypePTR:
		next, err := nameAt(start)
		if err != nil {
			return err
		}
		if next != end {
			return malformed("bytes after the target name", next)
		}
	case TypeMX:
		if len(d) < 3 {
			return malformed("MX RDATA too short", start)
		}
		rr.Priority = uint16(d[0])<<8 | uint16(d[1])
		if _, err := nameAt(start + 2); err != nil {
			return err
		}
	case TypeSRV:
		if len(d) < 7 {
			return malformed("SRV RDATA too short", start)
		}
		rr.Priority = uint16(d[0])<<8 | uint16(d[1])
		if _, err := nameAt(start + 6); err != nil {
			return err
		}
	case TypeSVCB, TypeHTTPS:
		if len(d) < 3 {
			return malformed("SVCB RDATA too short", start)
		}
		rr.Priority = uint16(d[0])<<8 | uint16(d[1])
		next, err := nameAt(start + 2)
		if err != nil {
			return err
		}
		return readSvcParams(msg[next:end], next, rr)
	}
	return nil
}

// SvcParamKeys used (RFC 9460 section 14.3.2).
const (
	svcECH      = 5
	svcIPv4Hint = 4
	svcIPv6Hint = 6
)

func readSvcParams(p []byte, base int, rr *Record) error {
	for off := 0; off < len(p); {
		if off+4 > len(p) {
			return malformed("SvcParam header", base+off)
		}
		key := int(p[off])<<8 | int(p[off+1])
		n := int(p[off+2])<<8 | int(p[off+3])
		off += 4
		if off+n > len(p) {
			return malformed("SvcParam value runs past the RDATA", base+off)
		}
		v := p[off : off+n]
		switch key {
		case svcECH:
			rr.ECH = true
		case svcIPv4Hint:
			if n == 0 || n%4 != 0 {
				return malformed("ipv4hint length", base+off)
			}
			for i := 0; i < n; i += 4 {
				rr.addHint(netip.AddrFrom4([4]byte(v[i : i+4])))
			}
		case svcIPv6Hint:
			if n == 0 || n%16 != 0 {
				return malformed("ipv6hint length", base+off)
			}
			for i := 0; i < n; i += 16 {
				rr.addHint(netip.AddrFrom16([16]byte(v[i : i+16])))
			}
		}
		off += n
	}
	return nil
}

func (r *Record) addHint(a netip.Addr) {
	if int(r.nHints) == MaxHints {
		r.HintsDropped++
		return
	}
	r.hints[r.nHints] = a
	r.nHints++
}
