package osquery

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written scanner for the one JSON shape osquery logs: objects of
// scalars, nested a level or two. encoding/json would build a map per row
// (twenty strings or more); this hands out byte slices into the line, or into
// a scratch buffer for strings with escapes, so a row costs no allocation.

// kv is one member of a JSON object whose value is a scalar: the string's
// contents, a number's text, "true"/"false", or nil for null.
type kv struct{ k, v []byte }

const maxDepth = 64

var errEOF = errors.New("unexpected end of JSON")

type scanner struct {
	b       []byte
	i       int
	scratch []byte // unescaped strings of the current line; reset per line
}

func (s *scanner) reset(b []byte) {
	s.b, s.i = b, 0
	s.scratch = s.scratch[:0]
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// expect consumes c after optional blanks.
func (s *scanner) expect(c byte) error {
	s.ws()
	if s.i >= len(s.b) {
		return errEOF
	}
	if s.b[s.i] != c {
		return s.errf("want %q, found %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// peek returns the next non-blank byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str reads a string; s.i is at the opening quote. Control characters
// inside strings, which JSON forbids and osquery never writes, are let
// through: checking costs a pass over every byte.
func (s *scanner) str() ([]byte, error) {
	s.i++ // opening quote
	start := s.i
	rest := s.b[start:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return nil, errEOF
	}
	if bytes.IndexByte(rest[:q], '\\') >= 0 {
		return s.strEscaped(start)
	}
	s.i = start + q + 1
	return rest[:q:q], nil
}

// strEscaped finishes a string that has escapes, into s.scratch.
func (s *scanner) strEscaped(start int) ([]byte, error) {
	from := len(s.scratch)
	s.scratch = append(s.scratch, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.scratch[from:len(s.scratch):len(s.scratch)], nil
		case c != '\\':
			s.scratch = append(s.scratch, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return nil, errEOF
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			s.scratch = append(s.scratch, e)
		case 'b':
			s.scratch = append(s.scratch, '\b')
		case 'f':
			s.scratch = append(s.scratch, '\f')
		case 'n':
			s.scratch = append(s.scratch, '\n')
		case 'r':
			s.scratch = append(s.scratch, '\r')
		case 't':
			s.scratch = append(s.scratch, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.errf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					if lo, ok := s.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
						r2 = utf16.DecodeRune(r, lo)
					} else {
						s.i = save
					}
				}
				r = r2
			}
			s.scratch = utf8.AppendRune(s.scratch, r)
		default:
			return nil, s.errf("bad escape \\%c", e)
		}
	}
	return nil, errEOF
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// scalar reads a string, number, boolean or null. isScalar is false (and
// nothing consumed) for an object or array.
func (s *scanner) scalar() (v []byte, isScalar bool, err error) {
	switch c := s.peek(); {
	case c == 0:
		return nil, true, errEOF
	case c == '"':
		v, err := s.str()
		return v, true, err
	case c == '{' || c == '[':
		return nil, false, nil
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		_, _, err := s.literal("null")
		return nil, true, err
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		s.i++
		for s.i < len(s.b) {
			c := s.b[s.i]
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
				break
			}
			s.i++
		}
		return s.b[start:s.i:s.i], true, nil
	default:
		return nil, true, s.errf("unexpected %q", c)
	}
}

func (s *scanner) literal(lit string) ([]byte, bool, error) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return nil, true, s.errf("bad literal")
	}
	v := s.b[s.i : s.i+len(lit) : s.i+len(lit)]
	s.i += len(lit)
	return v, true, nil
}

// skip consumes any value.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errf("nested too deep")
	}
	_, isScalar, err := s.scalar()
	if err != nil || isScalar {
		return err
	}
	if s.b[s.i] == '{' {
		return s.object(depth+1, func(key []byte) error { return s.skip(depth + 1) })
	}
	return s.array(depth+1, func() error { return s.skip(depth + 1) })
}

// object iterates an object's members; member must consume the value.
func (s *scanner) object(depth int, member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			if s.i >= len(s.b) {
				return errEOF
			}
			return s.errf("want member name")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		case 0:
			return errEOF
		default:
			return s.errf("want ',' or '}'")
		}
	}
}

// array iterates an array's elements; elem must consume each.
func (s *scanner) array(depth int, elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		case 0:
			return errEOF
		default:
			return s.errf("want ',' or ']'")
		}
	}
}

// flat appends the scalar members of an object to dst; members whose value
// is an object or array are skipped.
func (s *scanner) flat(depth int, dst []kv) ([]kv, error) {
	err := s.object(depth, func(key []byte) error {
		v, isScalar, err := s.scalar()
		if err != nil {
			return err
		}
		if !isScalar {
			return s.skip(depth + 1)
		}
		dst = append(dst, kv{key, v})
		return nil
	})
	return dst, err
}

// end checks that only blanks follow.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.errf("data after JSON value")
	}
	return nil
}
