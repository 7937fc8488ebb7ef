package httphost

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxHead bounds the request line and headers a caller should reassemble
// before giving up; servers commonly refuse heads larger than 8 KiB.
const MaxHead = 8 << 10

var (
	// ErrNotHTTP means the payload does not start with an HTTP/1.x
	// request line of a known method.
	ErrNotHTTP = errors.New("httphost: not an HTTP/1.x request")
	// ErrNeedMore means the request head is incomplete and holds no Host
	// yet: append the next segment and call again.
	ErrNeedMore = errors.New("httphost: need more bytes")
	// ErrNoHost means a complete request head without any host (an
	// HTTP/1.0 request, for instance).
	ErrNoHost = errors.New("httphost: request names no host")
	// ErrMalformed is wrapped by errors about requests that start like
	// HTTP but break the grammar.
	ErrMalformed = errors.New("httphost: malformed request")
)

// Request is what the head of a request names.
type Request struct {
	// Method is one of the recognised methods (an interned constant).
	Method string
	// Target is the request-target as sent. It aliases the payload: copy
	// it to keep it past the payload buffer's life.
	Target []byte
	// Host is the host named by the request: lowercase, port and IPv6
	// brackets removed, trailing dot dropped.
	Host string
	// Minor is the HTTP/1 minor version (0 or 1).
	Minor int
}

var methods = [...]string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT"}

func malformed(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, off)
}

// method matches the method token and its following space. n is the
// length consumed; need is true when payload is a proper prefix of some
// method.
func method(p []byte) (m string, n int, need bool) {
	for _, m := range methods {
		switch {
		case len(p) > len(m):
			if string(p[:len(m)]) == m && p[len(m)] == ' ' {
				return m, len(m) + 1, false
			}
		case string(p) == m[:len(p)]:
			need = true
		}
	}
	return "", 0, need
}

// Parse parses the start of a client-to-server TCP stream. On ErrNeedMore,
// ErrNoHost and ErrMalformed the fields parsed so far are set; on
// ErrNotHTTP the Request is zero.
func Parse(payload []byte) (Request, error) {
	r, err := parse(payload)
	if err == ErrNotHTTP {
		return Request{}, err
	}
	return r, err
}

func parse(payload []byte) (Request, error) {
	var r Request
	m, off, need := method(payload)
	if m == "" {
		if need {
			return r, ErrNeedMore
		}
		return r, ErrNotHTTP
	}
	r.Method = m
	eol := bytes.IndexByte(payload[off:], '\n')
	if eol < 0 {
		if len(payload) > MaxHead {
			return r, malformed("request line longer than MaxHead", 0)
		}
		// Until the line ends, all that can be checked is the target.
		if rest := payload[off:]; len(rest) > 0 && bytes.IndexByte(rest, ' ') < 0 && !validTarget(rest) {
			return r, ErrNotHTTP
		}
		return r, ErrNeedMore
	}
	line := payload[off : off+eol]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	sp := bytes.LastIndexByte(line, ' ')
	if sp <= 0 {
		return r, ErrNotHTTP
	}
	r.Target, line = line[:sp], line[sp+1:]
	if len(line) != 8 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || !validTarget(r.Target) {
		return r, ErrNotHTTP
	}
	r.Minor = int(line[7] - '0')

	// The authority of an absolute-form target overrides Host (RFC 9112
	// section 3.2.2); CONNECT names its authority alone.
	if m == "CONNECT" {
		h, err := hostString(r.Target, off)
		r.Host = h
		return r, err
	}
	if auth, ok := absoluteAuthority(r.Target); ok {
		h, err := hostString(auth, off)
		r.Host = h
		return r, err
	}

	pos := off + eol + 1
	for {
		nl := bytes.IndexByte(payload[pos:], '\n')
		if nl < 0 {
			if len(payload) > MaxHead {
				return r, malformed("request head longer than MaxHead", pos)
			}
			return r, ErrNeedMore
		}
		hl := payload[pos : pos+nl]
		if len(hl) > 0 && hl[len(hl)-1] == '\r' {
			hl = hl[:len(hl)-1]
		}
		if len(hl) == 0 {
			return r, ErrNoHost
		}
		if len(hl) >= 5 && hl[4] == ':' && (hl[0]|0x20) == 'h' && (hl[1]|0x20) == 'o' && (hl[2]|0x20) == 's' && (hl[3]|0x20) == 't' {
			h, err := hostString(trimOWS(hl[5:]), pos+5)
			r.Host = h
			return r, err
		}
		if bytes.IndexByte(hl, ':') <= 0 {
			return r, malformed("header line without a name", pos)
		}
		pos += nl + 1
	}
}

// validTarget accepts the visible ASCII a request-target may hold.
func validTarget(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// absoluteAuthority returns the authority of an http:// or https://
// target.
func absoluteAuthority(t []byte) ([]byte, bool) {
	var rest []byte
	switch {
	case len(t) > 7 && equalFold(t[:7], "http://"):
		rest = t[7:]
	case len(t) > 8 && equalFold(t[:8], "https://"):
		rest = t[8:]
	default:
		return nil, false
	}
	if i := bytes.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := bytes.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:] // userinfo
	}
	return rest, true
}

func equalFold(b []byte, lower string) bool {
	for i := range b {
		if b[i]|0x20 != lower[i] && b[i] != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hostString turns a host[:port] value into the canonical name, with one
// allocation for the result.
func hostString(v []byte, off int) (string, error) {
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 0 {
			return "", malformed("unterminated IPv6 literal", off)
		}
		if rest := v[end+1:]; len(rest) > 0 && !isPort(rest) {
			return "", malformed("text after IPv6 literal", off)
		}
		v = v[1:end]
		for _, c := range v {
			if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' || c == ':' || c == '.') {
				return "", malformed("IPv6 literal", off)
			}
		}
	} else if i := bytes.LastIndexByte(v, ':'); i >= 0 {
		if !isPort(v[i:]) {
			return "", malformed("port", off+i)
		}
		v = v[:i]
	}
	if len(v) > 0 && v[len(v)-1] == '.' {
		v = v[:len(v)-1]
	}
	if len(v) == 0 {
		return "", ErrNoHost
	}
	if len(v) > 255 {
		return "", malformed("host longer than 255 bytes", off)
	}
	var buf [255]byte
	for i, c := range v {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == ':':
		default:
			return "", malformed(fmt.Sprintf("host byte 0x%02x", c), off+i)
		}
		buf[i] = c
	}
	return string(buf[:len(v)]), nil
}

// isPort matches ":digits" (an empty port is allowed by RFC 3986).
func isPort(b []byte) bool {
	if len(b) == 0 || b[0] != ':' || len(b) > 6 {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
