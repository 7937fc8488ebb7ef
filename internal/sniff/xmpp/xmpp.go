// Package xmpp reads the domain a client names in the header of its XMPP
// stream (RFC 6120 §4.7.2: <stream:stream to='example.com' ...>), the
// cleartext first bytes of a session on TCP 5222 before any STARTTLS.
// Push services built on XMPP (Xiaomi's among them) open their streams
// the same way, so the name says whose service the device talks to where
// no TLS name is seen.
//
// StreamTo is called on the first plaintext bytes of TCP flows, so it
// rejects other protocols after a few bytes, allocates nothing (but for
// an internationalized domain, returned as its A-labels) and reads at
// most MaxHeader bytes; when the header is cut short it returns
// ErrNeedMore and the caller calls again with the next segment appended.
//
// It reads bytes only and must never import the flow tracker or the
// catalog.
package xmpp

import (
	"errors"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxHeader bounds what is read for the stream header: the XML
// declaration, the element and its attributes. Real headers are 150 to
// 400 bytes.
const MaxHeader = 2048

// Errors StreamTo returns.
var (
	ErrNeedMore = errors.New("xmpp: stream header incomplete")
	ErrNotXMPP  = errors.New("xmpp: not an XMPP stream header")
	ErrNoTo     = errors.New("xmpp: stream header without a domain in to")
)

// StreamTo returns the to attribute of the stream header at the start of
// b, a sub-slice of b, when it is a domain name (not an address, not a
// JID with a local part or resource). A declaration <?xml ...?> and
// white space may come first; attributes come in any order, quoted with
// ' or ".
func StreamTo(b []byte) ([]byte, error) {
	if len(b) > MaxHeader {
		b = b[:MaxHeader]
	}
	full := len(b) == MaxHeader
	i := skipSpace(b, 0)
	if hasPrefix(b[i:], "\xef\xbb\xbf") { // a byte-order mark
		i = skipSpace(b, i+3)
	}
	if i == len(b) {
		return more(full)
	}
	if b[i] != '<' {
		return nil, ErrNotXMPP
	}
	if rest := b[i:]; len(rest) < 5 && prefixOf(rest, "<?xml") {
		return more(full)
	}
	if hasPrefix(b[i:], "<?xml") {
		end := index2(b, i+5, '?', '>')
		if end < 0 {
			return more(full)
		}
		i = skipSpace(b, end+2)
	}
	const open = "<stream:stream"
	rest := b[i:]
	if len(rest) <= len(open) {
		if prefixOf(rest, open) {
			return more(full)
		}
		return nil, ErrNotXMPP
	}
	if !hasPrefix(rest, open) || !isSpace(rest[len(open)]) && rest[len(open)] != '>' && rest[len(open)] != '/' {
		return nil, ErrNotXMPP
	}
	i += len(open)
	var to []byte
	seen := false
	for {
		i = skipSpace(b, i)
		if i == len(b) {
			return more(full)
		}
		switch b[i] {
		case '>':
			return checkTo(to, seen)
		case '/':
			if i+1 == len(b) {
				return more(full)
			}
			if b[i+1] != '>' {
				return nil, ErrNotXMPP
			}
			return checkTo(to, seen)
		}
		// name = value
		n := i
		for n < len(b) && nameByte(b[n]) {
			n++
		}
		if n == len(b) {
			return more(full)
		}
		if n == i {
			return nil, ErrNotXMPP
		}
		name := b[i:n]
		n = skipSpace(b, n)
		if n == len(b) {
			return more(full)
		}
		if b[n] != '=' {
			return nil, ErrNotXMPP
		}
		n = skipSpace(b, n+1)
		if n == len(b) {
			return more(full)
		}
		q := b[n]
		if q != '\'' && q != '"' {
			return nil, ErrNotXMPP
		}
		v := n + 1
		e := v
		for e < len(b) && b[e] != q {
			if b[e] == '<' { // not allowed in an attribute value
				return nil, ErrNotXMPP
			}
			e++
		}
		if e == len(b) {
			return more(full)
		}
		if string(name) == "to" {
			if seen { // a repeated attribute is not well-formed XML
				return nil, ErrNotXMPP
			}
			to, seen = b[v:e], true
		}
		i = e + 1
		if i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
			return nil, ErrNotXMPP
		}
	}
}

func more(full bool) ([]byte, error) {
	if full {
		return nil, ErrNotXMPP // longer than any real header
	}
	return nil, ErrNeedMore
}

// checkTo keeps a to that is a host name: letters, digits, hyphens and
// underscores in dot-separated labels, a trailing dot dropped, the last
// label not all digits (an IPv4 address). Entity references, JIDs with
// a local part or resource, IPv6 literals and non-ASCII (IDN) names are
// refused rather than decoded.
func checkTo(to []byte, seen bool) ([]byte, error) {
	if !seen {
		return nil, ErrNoTo
	}
	if n := len(to); n > 0 && to[n-1] == '.' {
		to = to[:n-1]
	}
	for _, c := range to {
		if c >= 0x80 {
			// an internationalized domain (RFC 7622: U-labels): the
			// catalog holds names as A-labels (punycode)
			if !utf8.Valid(to) {
				return nil, ErrNoTo
			}
			a, err := idna.Lookup.ToASCII(string(to))
			if err != nil {
				return nil, ErrNoTo
			}
			to = []byte(a)
			break
		}
	}
	if len(to) == 0 || len(to) > 253 {
		return nil, ErrNoTo
	}
	label, digits := 0, true
	for _, c := range to {
		switch {
		case c == '.':
			if label == 0 || label > 63 {
				return nil, ErrNoTo
			}
			label, digits = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
			digits = false
		default:
			return nil, ErrNoTo
		}
		label++
	}
	if label == 0 || label > 63 || digits {
		return nil, ErrNoTo
	}
	return to, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// nameByte: the bytes of an XML attribute name as XMPP uses them
// (ASCII letters, digits, '-', '_', '.', and ':' for xml:lang and
// xmlns:stream).
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// prefixOf reports whether all of b is the start of s.
func prefixOf(b []byte, s string) bool { return len(b) <= len(s) && string(b) == s[:len(b)] }

// index2 finds the pair c1 c2 in b from i, or -1.
func index2(b []byte, i int, c1, c2 byte) int {
	for ; i+1 < len(b); i++ {
		if b[i] == c1 && b[i+1] == c2 {
			return i
		}
	}
	return -1
}
