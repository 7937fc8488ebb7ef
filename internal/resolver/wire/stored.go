package wire

import "encoding/binary"

// TTL is where a record's TTL sits in a stored response, and its value
// when stored.
type TTL struct {
	Off uint16
	TTL uint32
}

func skipName(b []byte, off int) (int, error) {
	for n := 0; n < 128; n++ {
		if off >= len(b) {
			return 0, ErrFormat
		}
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xC0 == 0xC0:
			if off+2 > len(b) {
				return 0, ErrFormat
			}
			return off + 2, nil
		case l&0xC0 != 0:
			return 0, ErrFormat
		}
		off += 1 + l
	}
	return 0, ErrFormat
}

// ScanTTLs walks a packed response and appends the offset and value of
// every record's TTL to dst (OPT records excluded). It fails on a message
// it cannot walk to its end, or one that has more than one question.
func ScanTTLs(msg []byte, dst []TTL) ([]TTL, error) {
	if len(msg) < HeaderLen || len(msg) > 0xFFFF {
		return dst, ErrFormat
	}
	qd := binary.BigEndian.Uint16(msg[4:])
	rr := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	if qd != 1 {
		return dst, ErrFormat
	}
	off, err := skipName(msg, HeaderLen)
	if err != nil {
		return dst, err
	}
	off += 4
	for i := 0; i < rr; i++ {
		if off, err = skipName(msg, off); err != nil {
			return dst, err
		}
		if off+10 > len(msg) {
			return dst, ErrFormat
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		if typ != TypeOPT {
			dst = append(dst, TTL{Off: uint16(off + 4), TTL: binary.BigEndian.Uint32(msg[off+4:])})
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
		if off > len(msg) {
			return dst, ErrFormat
		}
	}
	if off != len(msg) {
		return dst, ErrFormat
	}
	return dst, nil
}

// AppendStored appends a stored response (no OPT record) re-stamped for
// the client's query q: its ID, its RD and CD flags, its question bytes
// (the case it asked in), every TTL lowered by age seconds or, when
// staleTTL is not zero, set to staleTTL; and an OPT record when the client
// sent EDNS (with EDE "stale answer" when serving stale). The stored
// question must be the client's question up to case.
func AppendStored(dst, stored []byte, ttls []TTL, q *Query, req []byte, age, staleTTL uint32) []byte {
	start := len(dst)
	dst = append(dst, stored...)
	m := dst[start:]
	binary.BigEndian.PutUint16(m, q.ID)
	fl := binary.BigEndian.Uint16(m[2:])&^(FlagRD|FlagCD) | q.Flags&(FlagRD|FlagCD)
	binary.BigEndian.PutUint16(m[2:], fl)
	if q.QEnd <= len(m) {
		copy(m[HeaderLen:q.QEnd], req[HeaderLen:q.QEnd])
	}
	for _, t := range ttls {
		v := staleTTL
		if v == 0 {
			if t.TTL > age {
				v = t.TTL - age
			} else {
				v = 0
			}
		}
		binary.BigEndian.PutUint32(m[t.Off:], v)
	}
	if q.EDNS {
		var ede uint16
		if staleTTL != 0 {
			ede = EDEStale
		}
		dst = AppendOPT(dst, q.DO, ede, "")
		m = dst[start:]
		binary.BigEndian.PutUint16(m[10:], binary.BigEndian.Uint16(m[10:])+1)
	}
	return dst
}
