package quic

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrNoCHLO means a datagram carries no plaintext Google QUIC client hello.
var ErrNoCHLO = errors.New("quic: no plaintext Google QUIC CHLO")

// GoogleCHLO extracts the server name (SNI tag) and user agent (UAID tag)
// from the plaintext handshake message a Google QUIC client sends in its
// first packets (versions up to Q046, in use until about 2020; later ones
// encrypt it). It is a separate, best-effort path for old captures: the
// caller tries it on datagrams that ParseClientInitial rejected with
// ErrGoogleQUIC or ErrNotQUIC. Either value may be empty when the tag is
// absent. Only the returned strings are allocated.
func GoogleCHLO(datagram []byte) (sni, uaid string, err error) {
	if len(datagram) < 13 {
		return "", "", ErrNoCHLO
	}
	long := datagram[0]&0x80 != 0
	if long && !isGoogleQUIC(datagram) {
		return "", "", ErrNoCHLO
	}
	// The message tag follows the public header, the packet number, the
	// 12-byte hash and the STREAM frame header: within the first 80 bytes.
	head := datagram[:min(len(datagram), 80)]
	k := bytes.Index(head, []byte("CHLO"))
	if k < 0 {
		return "", "", ErrNoCHLO
	}
	m := datagram[k:]
	if len(m) < 8 {
		return "", "", malformed("CHLO header", k)
	}
	n := int(m[4]) | int(m[5])<<8
	if n == 0 || n > 128 {
		return "", "", malformed(fmt.Sprintf("CHLO with %d tags", n), k+4)
	}
	values := 8 + 8*n
	if values > len(m) {
		return "", "", malformed("CHLO tag table runs past the datagram", k+8)
	}
	prev := 0
	for i := 0; i < n; i++ {
		e := m[8+8*i:]
		end := int(e[4]) | int(e[5])<<8 | int(e[6])<<16 | int(e[7])<<24
		if end < prev || end > len(m)-values {
			return "", "", malformed("CHLO tag offset", k+8+8*i+4)
		}
		v := m[values+prev : values+end]
		prev = end
		switch string(e[:4]) {
		case "SNI\x00":
			if sni, err = chloString(v, true); err != nil {
				return "", "", fmt.Errorf("%w at offset %d", err, k+values)
			}
		case "UAID":
			if uaid, err = chloString(v, false); err != nil {
				return "", "", fmt.Errorf("%w at offset %d", err, k+values)
			}
		}
	}
	return sni, uaid, nil
}

// chloString validates a printable tag value, lowercasing host names.
func chloString(v []byte, host bool) (string, error) {
	if len(v) > 255 {
		return "", fmt.Errorf("%w: CHLO value of %d bytes", ErrMalformed, len(v))
	}
	var buf [255]byte
	for i, c := range v {
		if c < ' ' || c >= 0x7f || host && c == ' ' {
			return "", fmt.Errorf("%w: CHLO value byte 0x%02x", ErrMalformed, c)
		}
		if host && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(v)]), nil
}
