// Package httphost learns the server name of a cleartext HTTP/1.x
// connection from the first bytes the client sends: the Host header (or
// the authority of an absolute-form or CONNECT request target), lowercased
// and without its port, plus the method and target.
//
// Parse is called on every new TCP flow the tracker cannot otherwise
// name, so it rejects other protocols after looking at a few bytes with
// the ErrNotHTTP sentinel, and allocates nothing but the returned host
// string. When the request head is cut short it returns ErrNeedMore: the
// caller appends the next segment (up to MaxHead bytes) and calls again.
//
// DNSQuery recognises a request-target that asks an HTTP-DNS service for
// a name ("/d?host=NAME"), the way apps get around the network's resolver.
//
// The package uses the standard library only and must never import
// packet capture, flow tracking or catalog code. net/http is deliberately
// not used: it allocates per header and wants a whole request.
package httphost
