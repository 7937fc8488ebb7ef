// Package tlshello learns the name of the far end of a TLS connection from
// the bytes on the wire: the server name (SNI), ALPN protocols, offered
// versions and Encrypted ClientHello presence from the client's ClientHello,
// and the subject of the server's certificate from a TLS 1.2 server flight.
//
// Both parsers take a byte stream that starts at the first TLS record header
// and may be incomplete. When a message spans TCP segments or TLS records
// they return ErrNeedMore together with the number of stream bytes needed
// (a lower bound: the caller appends more bytes, up to its own bound such as
// MaxClientHelloStream, and calls again). Any other error means "give up on
// this flow": ErrNotTLS and ErrNotClientHello are cheap sentinel values for
// streams that are something else; malformed input wraps ErrMalformed and
// names the offset. No input makes them panic.
//
// ParseClientHello is on the hot path of every TLS flow and allocates
// nothing but the returned SNI string (and an ALPN string only when the
// protocol is not one of the well-known identifiers, which are interned).
// ParseClientHelloMessage takes a bare handshake message, as QUIC carries it
// in CRYPTO frames. The certificate path uses crypto/x509 and allocates; it
// runs once per TLS 1.2 flow at most, as TLS 1.3 encrypts certificates.
//
// BuildClientHello, BuildQUICClientHello and BuildServerCertificate make
// realistic messages for the project's demo-capture generator and tests.
//
// The package depends on the standard library only; it must never import
// packet capture, flow tracking or catalog packages: it sees bytes, not
// flows.
package tlshello
