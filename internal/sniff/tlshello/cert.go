package tlshello

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// MaxCertificateStream bounds the server stream ParseServerCertificate will
// look at: the ServerHello and the first certificate of the chain must lie
// within it. Certificates with hundreds of SANs reach 10 KiB.
const MaxCertificateStream = 64 << 10

var (
	// ErrEncryptedCertificate means the server chose TLS 1.3, which
	// encrypts its certificate: only the SNI can name the server.
	ErrEncryptedCertificate = errors.New("tlshello: server chose TLS 1.3; its certificate is encrypted")
	// ErrNoCertificate means the server flight ended (session resumption,
	// alert, anonymous or PSK cipher suite) without a certificate.
	ErrNoCertificate = errors.New("tlshello: server flight has no certificate")
	// ErrNotServerHello means the first handshake message of the stream is
	// not a ServerHello.
	ErrNotServerHello = errors.New("tlshello: first handshake message is not a ServerHello")
)

// Certificate is what the server's own (first) certificate says about who
// operates it.
type Certificate struct {
	// Version is the TLS version the ServerHello selected.
	Version            uint16
	CommonName         string
	Organization       []string
	DNSNames           []string
	IssuerCommonName   string
	IssuerOrganization []string
	// DER is the certificate itself, for callers that want more.
	DER []byte
}

// ParseServerCertificate parses the server-to-client byte stream of a TLS
// connection, starting at its first record header, up to the first
// certificate of a TLS 1.2 (or older) Certificate message. On ErrNeedMore,
// need is the stream length to reassemble before calling again.
func ParseServerCertificate(stream []byte) (c Certificate, need int, err error) {
	return parseServerCertificate(stream, nil)
}

// CertCache remembers what the certificates it has parsed say, keyed by
// their DER bytes. A server sends the same certificate on every
// connection, and crypto/x509 costs more than all the rest of a flow's
// work: 15 % of a scan of many short TLS 1.2 flows (docs/benchmarks.md,
// "Distinct flows"). Zeek caches parsed certificates for the same
// reason. The cache holds at most about certCacheBytes of certificates
// and is emptied when full. The zero value is ready; it is not safe for
// concurrent use.
type CertCache struct {
	m     map[string]Certificate
	bytes int
	hs    []byte // the handshake bytes of the stream being parsed
}

// certCacheBytes bounds the DER bytes a CertCache keeps (the fields kept
// beside each are a fraction of it): a few hundred certificates.
const certCacheBytes = 1 << 20

// ParseServerCertificate is the package's ParseServerCertificate, with
// the first certificate looked up in the cache before it is parsed. The
// Certificate is the same, but its DER lies in the cache's scratch
// memory, valid until the next call, and its other slices (Organization,
// DNSNames, IssuerOrganization) are shared with the cache and must not be
// changed.
func (cc *CertCache) ParseServerCertificate(stream []byte) (c Certificate, need int, err error) {
	return parseServerCertificate(stream, cc)
}

func (cc *CertCache) get(der []byte) (Certificate, bool) {
	c, ok := cc.m[string(der)]
	return c, ok
}

func (cc *CertCache) put(der []byte, c Certificate) {
	if len(der) > certCacheBytes/8 {
		return
	}
	if cc.m == nil || cc.bytes+len(der) > certCacheBytes {
		cc.m, cc.bytes = map[string]Certificate{}, 0
	}
	c.Version, c.DER = 0, nil // the connection's, not the certificate's
	cc.m[string(der)] = c
	cc.bytes += len(der)
}

func parseServerCertificate(stream []byte, cc *CertCache) (c Certificate, need int, err error) {
	if len(stream) > 0 && stream[0] == recordAlert {
		return c, 0, fmt.Errorf("%w: alert record at offset 0", ErrNoCertificate)
	}
	if err := checkRecordStart(stream); err != nil {
		return c, 0, err
	}
	var hs []byte // handshake bytes gathered from the records so far
	if cc != nil {
		hs = cc.hs[:0] // the cache's scratch: DER lives in it until the next call
		defer func() { cc.hs = hs[:0] }()
	}
	pos := 0 // start of the next unparsed handshake message in hs
	off := 0 // start of the next record in stream
	for {
		// Take the next record, or what has arrived of it.
		if len(stream)-off < 5 {
			return c, off + 5 + waitFor(hs, pos), ErrNeedMore
		}
		typ := stream[off]
		recLen := int(stream[off+3])<<8 | int(stream[off+4])
		if stream[off+1] != 3 || recLen == 0 || recLen > MaxRecord {
			return c, 0, malformed("record header", off)
		}
		switch typ {
		case recordHandshake:
		case recordChangeCipherSpec, recordAlert, recordApplicationData:
			return c, 0, fmt.Errorf("%w: record type %d at offset %d", ErrNoCertificate, typ, off)
		default:
			return c, 0, malformed(fmt.Sprintf("record type %d", typ), off)
		}
		end := off + 5 + recLen
		partial := end > len(stream)
		if partial {
			end = len(stream)
		}
		if len(hs)+end-off-5 > MaxCertificateStream {
			return c, 0, malformed("server flight longer than MaxCertificateStream", off)
		}
		hs = append(hs, stream[off+5:end]...)
		off = end

		// Walk the complete messages now available.
		for {
			if len(hs)-pos < 4 {
				break
			}
			mt := hs[pos]
			ml := int(hs[pos+1])<<16 | int(hs[pos+2])<<8 | int(hs[pos+3])
			if ml > MaxCertificateStream {
				return c, 0, malformed("handshake message length", pos)
			}
			if pos == 0 && mt != typeServerHello {
				return c, 0, ErrNotServerHello
			}
			if mt == typeCertificate {
				msg := hs[pos+4 : min(len(hs), pos+4+ml)]
				done, err := parseCertificateMsg(msg, &c, cc)
				if err != nil || done {
					return c, 0, err
				}
				if len(msg) == ml {
					return c, 0, malformed("Certificate message shorter than its first certificate", pos)
				}
				break // the first certificate is still incomplete
			}
			if len(hs)-pos < 4+ml {
				break
			}
			body := hs[pos+4 : pos+4+ml]
			switch mt {
			case typeServerHello:
				v, err := serverHelloVersion(body)
				if err != nil {
					return c, 0, err
				}
				c.Version = v
				if v >= 0x0304 {
					return c, 0, ErrEncryptedCertificate
				}
			case 12, 13, 14: // ServerKeyExchange, CertificateRequest, ServerHelloDone
				return c, 0, fmt.Errorf("%w: handshake type %d before any Certificate", ErrNoCertificate, mt)
			}
			pos += 4 + ml
		}
		if partial {
			return c, len(stream) + waitFor(hs, pos), ErrNeedMore
		}
	}
}

// waitFor is how many more handshake bytes the message at pos needs before
// the parser can make progress.
func waitFor(hs []byte, pos int) int {
	have := len(hs) - pos
	if have < 4 {
		return 4 - have
	}
	ml := int(hs[pos+1])<<16 | int(hs[pos+2])<<8 | int(hs[pos+3])
	want := 4 + ml
	if hs[pos] == typeCertificate && have >= 10 {
		certLen := int(hs[pos+7])<<16 | int(hs[pos+8])<<8 | int(hs[pos+9])
		want = min(want, 10+certLen)
	} else if hs[pos] == typeCertificate {
		want = min(want, 10)
	}
	if want <= have {
		return 1
	}
	return want - have
}

// parseCertificateMsg parses the first certificate of a TLS 1.2 Certificate
// message body, of which b may hold only a prefix. done is false while the
// first certificate is incomplete.
func parseCertificateMsg(b []byte, c *Certificate, cc *CertCache) (done bool, err error) {
	if len(b) < 3 {
		return false, nil
	}
	listLen := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	if listLen == 0 {
		return true, fmt.Errorf("%w: empty certificate list", ErrNoCertificate)
	}
	if len(b) < 6 {
		return false, nil
	}
	certLen := int(b[3])<<16 | int(b[4])<<8 | int(b[5])
	if certLen == 0 || certLen+3 > listLen {
		return true, malformed("certificate length", 3)
	}
	if len(b) < 6+certLen {
		return false, nil
	}
	der := b[6 : 6+certLen]
	if cc != nil {
		if hit, ok := cc.get(der); ok {
			hit.Version, hit.DER = c.Version, der
			*c = hit
			return true, nil
		}
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		return true, fmt.Errorf("%w: first certificate: %v", ErrMalformed, err)
	}
	c.CommonName = x.Subject.CommonName
	c.Organization = x.Subject.Organization
	c.DNSNames = x.DNSNames
	c.IssuerCommonName = x.Issuer.CommonName
	c.IssuerOrganization = x.Issuer.Organization
	c.DER = x.Raw
	if cc != nil {
		cc.put(der, *c)
	}
	return true, nil
}

// serverHelloVersion returns the version a ServerHello selects: the
// supported_versions extension when present, else legacy_version.
func serverHelloVersion(body []byte) (uint16, error) {
	r := reader{b: body, base: 4}
	v, ok := r.u16()
	if !ok {
		return 0, r.fail("ServerHello version")
	}
	if _, ok := r.bytes(32); !ok {
		return 0, r.fail("ServerHello random")
	}
	n, ok := r.u8()
	if !ok || n > 32 {
		return 0, r.fail("ServerHello session_id")
	}
	if _, ok := r.bytes(n + 3); !ok { // session id, cipher suite, compression
		return 0, r.fail("ServerHello cipher suite")
	}
	if r.left() == 0 {
		return uint16(v), nil
	}
	n, ok = r.u16()
	if !ok || n != r.left() {
		return 0, r.fail("ServerHello extensions length")
	}
	for r.left() > 0 {
		typ, ok1 := r.u16()
		l, ok2 := r.u16()
		data, ok3 := r.bytes(l)
		if !ok1 || !ok2 || !ok3 {
			return 0, r.fail("ServerHello extension")
		}
		if typ == extSupportedVersions && len(data) == 2 {
			return uint16(data[0])<<8 | uint16(data[1]), nil
		}
	}
	return uint16(v), nil
}
