// Package starttls recognises, in a client's plaintext stream, the
// command that turns SMTP, IMAP, POP3, FTP or XMPP into TLS (STARTTLS,
// STLS, AUTH TLS, <starttls/>), so that the flow tracker reads the TLS
// ClientHello and the server's certificate that follow, as it does on a
// TLS port. Mail, chat and file servers are named then by the same
// evidence as any TLS server.
//
// It reads bytes only and must never import the flow tracker or the
// catalog.
package starttls

import "bytes"

// MaxPlain is how many plaintext client bytes are worth watching for the
// command: a session that has not upgraded by then is not going to.
const MaxPlain = 4096

// Plain reports whether b looks like the start of a text protocol's
// client side: printable ASCII lines, or an XML stream.
func Plain(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c != '\r' && c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

// Upgrade reports whether the client's segment b carries a command that
// switches the session to TLS: SMTP's and XMPP's STARTTLS, IMAP's tagged
// STARTTLS, POP3's STLS, FTP's AUTH TLS or AUTH SSL. The command must
// stand on a line of its own (or as the XMPP element), so that "STARTTLS"
// inside a mail body does not count.
func Upgrade(b []byte) bool {
	if bytes.Contains(b, []byte("<starttls")) {
		return true
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, "\r ")
		if upgradeLine(line) {
			return true
		}
	}
	return false
}

func upgradeLine(l []byte) bool {
	switch {
	case bytes.EqualFold(l, []byte("STARTTLS")), bytes.EqualFold(l, []byte("STLS")),
		bytes.EqualFold(l, []byte("AUTH TLS")), bytes.EqualFold(l, []byte("AUTH SSL")),
		bytes.EqualFold(l, []byte("AUTH TLS-C")):
		return true
	}
	// IMAP: a tag, one space, STARTTLS
	if i := bytes.IndexByte(l, ' '); i > 0 && i < 32 && bytes.EqualFold(l[i+1:], []byte("STARTTLS")) {
		return !bytes.ContainsAny(l[:i], " \t")
	}
	return false
}
