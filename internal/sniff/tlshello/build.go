package tlshello

import (
	"crypto/sha256"
)

// BuildClientHello returns one TLS record holding a ClientHello shaped like
// a current browser's: TLS 1.3 and 1.2 offered, X25519 key share, SNI (when
// sni is not empty) and ALPN (when alpn is not empty). Random values are
// derived from sni, so the output is deterministic: demo captures and
// golden files stay stable. It is for generating test traffic, not for
// talking to servers.
func BuildClientHello(sni string, alpn []string) []byte {
	msg := buildHello(sni, alpn, nil, false)
	return appendRecord(nil, recordHandshake, 0x0301, msg)
}

// BuildQUICClientHello returns a bare ClientHello handshake message (no
// record header) as a QUIC client puts in its Initial CRYPTO frames: TLS
// 1.3 only, with quic_transport_parameters naming scid as
// initial_source_connection_id.
func BuildQUICClientHello(sni string, alpn []string, scid []byte) []byte {
	return buildHello(sni, alpn, scid, true)
}

// BuildServerCertificate returns a TLS 1.2 server flight (ServerHello,
// Certificate carrying the given DER certificates, leaf first, and
// ServerHelloDone), each message in its own record.
func BuildServerCertificate(chain ...[]byte) []byte {
	seed := sha256.Sum256(append([]byte("outflow server random"), firstOr(chain)...))
	var sh []byte
	sh = append(sh, 0x03, 0x03)
	sh = append(sh, seed[:]...)
	sh = append(sh, 32)
	sh = append(sh, seed[:]...)
	sh = append(sh, 0xc0, 0x2f, 0x00) // ECDHE-RSA-AES128-GCM-SHA256, no compression
	sh = appendU16Block(sh, func(b []byte) []byte {
		b = appendExt(b, 0xff01, []byte{0})                  // renegotiation_info
		b = appendExt(b, 23, nil)                            // extended_master_secret
		b = appendExt(b, 11, []byte{1, 0})                   // ec_point_formats
		b = appendExt(b, extALPN, []byte{0, 3, 2, 'h', '2'}) // ALPN h2
		return b
	})
	var cert []byte
	cert = appendU24Block(cert, func(b []byte) []byte {
		for _, der := range chain {
			b = appendU24Block(b, func(b []byte) []byte { return append(b, der...) })
		}
		return b
	})
	var out []byte
	out = appendRecord(out, recordHandshake, 0x0303, handshake(typeServerHello, sh))
	out = appendRecord(out, recordHandshake, 0x0303, handshake(typeCertificate, cert))
	out = appendRecord(out, recordHandshake, 0x0303, handshake(14, nil))
	return out
}

func firstOr(chain [][]byte) []byte {
	if len(chain) == 0 {
		return nil
	}
	return chain[0]
}

func buildHello(sni string, alpn []string, scid []byte, quic bool) []byte {
	seed := sha256.Sum256([]byte("outflow client random " + sni))
	share := sha256.Sum256(seed[:])
	var b []byte
	b = append(b, 0x03, 0x03)
	b = append(b, seed[:]...)
	if quic {
		b = append(b, 0) // QUIC clients send no legacy session id
	} else {
		b = append(b, 32)
		b = append(b, share[:]...)
	}
	suites := []uint16{0x1301, 0x1302, 0x1303}
	if !quic {
		suites = append(suites, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035)
	}
	b = appendU16Block(b, func(b []byte) []byte {
		for _, s := range suites {
			b = append(b, byte(s>>8), byte(s))
		}
		return b
	})
	b = append(b, 1, 0) // null compression
	b = appendU16Block(b, func(b []byte) []byte {
		if sni != "" {
			b = appendExtFunc(b, extServerName, func(b []byte) []byte {
				return appendU16Block(b, func(b []byte) []byte {
					b = append(b, 0) // host_name
					return appendU16Block(b, func(b []byte) []byte { return append(b, sni...) })
				})
			})
		}
		if !quic {
			b = appendExt(b, 23, nil)           // extended_master_secret
			b = appendExt(b, 0xff01, []byte{0}) // renegotiation_info
		}
		b = appendExt(b, 10, []byte{0, 6, 0, 0x1d, 0, 0x17, 0, 0x18}) // supported_groups
		if !quic {
			b = appendExt(b, 11, []byte{1, 0}) // ec_point_formats
			b = appendExt(b, 35, nil)          // session_ticket
		}
		if len(alpn) > 0 {
			b = appendExtFunc(b, extALPN, func(b []byte) []byte {
				return appendU16Block(b, func(b []byte) []byte {
					for _, p := range alpn {
						if len(p) == 0 || len(p) > 255 {
							continue
						}
						b = append(b, byte(len(p)))
						b = append(b, p...)
					}
					return b
				})
			})
		}
		b = appendExt(b, 5, []byte{1, 0, 0, 0, 0}) // status_request
		b = appendExt(b, 13, []byte{0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1})
		b = appendExt(b, 18, nil)                        // signed_certificate_timestamp
		b = appendExtFunc(b, 51, func(b []byte) []byte { // key_share
			return appendU16Block(b, func(b []byte) []byte {
				b = append(b, 0, 0x1d, 0, 32)
				return append(b, share[:]...)
			})
		})
		b = appendExt(b, 45, []byte{1, 1}) // psk_key_exchange_modes
		if quic {
			b = appendExt(b, extSupportedVersions, []byte{2, 3, 4})
			b = appendExt(b, extQUICParams, quicParams(scid))
		} else {
			b = appendExt(b, extSupportedVersions, []byte{4, 3, 4, 3, 3})
		}
		return b
	})
	return handshake(typeClientHello, b)
}

// quicParams encodes a plausible client transport parameter set (RFC 9000
// section 18.2), each value a varint.
func quicParams(scid []byte) []byte {
	var b []byte
	param := func(id byte, v []byte) {
		b = append(b, id, byte(len(v)))
		b = append(b, v...)
	}
	param(0x01, []byte{0x80, 0x00, 0x75, 0x30}) // max_idle_timeout 30000 ms
	param(0x04, []byte{0x80, 0xf0, 0x00, 0x00}) // initial_max_data
	param(0x05, []byte{0x80, 0x60, 0x00, 0x00}) // initial_max_stream_data_bidi_local
	param(0x06, []byte{0x80, 0x60, 0x00, 0x00}) // initial_max_stream_data_bidi_remote
	param(0x07, []byte{0x80, 0x60, 0x00, 0x00}) // initial_max_stream_data_uni
	param(0x08, []byte{0x40, 0x64})             // initial_max_streams_bidi 100
	param(0x09, []byte{0x40, 0x64})             // initial_max_streams_uni 100
	param(0x0f, scid)                           // initial_source_connection_id
	return b
}

func handshake(typ byte, body []byte) []byte {
	b := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

// appendRecord splits payload into records of at most 2^14 bytes.
func appendRecord(b []byte, typ byte, version uint16, payload []byte) []byte {
	for {
		n := min(len(payload), 16<<10)
		b = append(b, typ, byte(version>>8), byte(version), byte(n>>8), byte(n))
		b = append(b, payload[:n]...)
		payload = payload[n:]
		if len(payload) == 0 {
			return b
		}
	}
}

func appendExt(b []byte, typ uint16, data []byte) []byte {
	b = append(b, byte(typ>>8), byte(typ), byte(len(data)>>8), byte(len(data)))
	return append(b, data...)
}

func appendExtFunc(b []byte, typ uint16, f func([]byte) []byte) []byte {
	b = append(b, byte(typ>>8), byte(typ))
	return appendU16Block(b, f)
}

func appendU16Block(b []byte, f func([]byte) []byte) []byte {
	at := len(b)
	b = append(b, 0, 0)
	b = f(b)
	n := len(b) - at - 2
	b[at], b[at+1] = byte(n>>8), byte(n)
	return b
}

func appendU24Block(b []byte, f func([]byte) []byte) []byte {
	at := len(b)
	b = append(b, 0, 0, 0)
	b = f(b)
	n := len(b) - at - 3
	b[at], b[at+1], b[at+2] = byte(n>>16), byte(n>>8), byte(n)
	return b
}
