// Package quic learns the server name of an IETF QUIC connection from the
// client's Initial packets: it derives the Initial keys from the
// Destination Connection ID (RFC 9001 section 5.2 for v1 and the drafts,
// RFC 9369 for v2), removes header protection, decrypts, reassembles the
// CRYPTO stream and hands the ClientHello to tlshello for SNI, ALPN and
// ECH.
//
// A caller keeps one Assembler per UDP flow, feeds it the client-to-server
// datagrams until Add returns nil (ClientHello complete) or an error other
// than ErrNeedMore, then drops it. ParseClientInitial does the same for a
// lone datagram. Datagrams that are not client Initials of a supported
// version (short-header packets, Google QUIC, DNS, garbage) are rejected
// with a sentinel error before anything is allocated; see LooksLikeInitial.
// Google QUIC (Q0xx, 2013-2020) is recognised and rejected with
// ErrGoogleQUIC rather than misparsed; GoogleCHLO then reads the server
// name from its plaintext client hello, a best-effort path for old
// captures.
//
// Building is supported too, for the demo-capture generator and for tests:
// ClientInitialKeys exposes the key schedule, SealClientInitial protects a
// packet, BuildClientInitial makes a padded 1200-byte datagram carrying a
// ClientHello.
//
// Only the standard library and tlshello are imported; the package must
// never import packet capture, flow tracking or catalog code.
package quic
