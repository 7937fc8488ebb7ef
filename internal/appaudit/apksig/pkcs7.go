package apksig

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

// signedData follows RFC 2315 / 5652; certificates is [0] IMPLICIT.
type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue // SET OF SignerInfo, decoded one by one
}

// signerInfo reads the first two fields; the sid is IssuerAndSerialNumber
// in every JAR signature (a [0] SubjectKeyIdentifier does not decode and
// is skipped).
type signerInfo struct {
	Version               int
	IssuerAndSerialNumber asn1.RawValue
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// PKCS7 is what a v1 signature block says about its signers.
type PKCS7 struct {
	// Certificates is the whole certificate bag, in order.
	Certificates []*Certificate
	// Signers are the certificates the SignerInfos name (by issuer and
	// serial); Android trusts these, not merely the first of the bag.
	Signers []*Certificate
}

// ParsePKCS7 decodes a DER or BER PKCS#7 SignedData (a META-INF/*.RSA file).
func ParsePKCS7(data []byte) (*PKCS7, error) {
	der, err := berToDER(data)
	if err != nil {
		return nil, fmt.Errorf("apksig: pkcs7: %w", err)
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("apksig: pkcs7: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("apksig: pkcs7: content type %v is not signedData", ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("apksig: pkcs7: signedData: %w", err)
	}
	p := &PKCS7{}
	for rest := sd.Certificates.Bytes; len(rest) > 0; {
		var rv asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &rv)
		if err != nil {
			return nil, fmt.Errorf("apksig: pkcs7: certificate %d: %w", len(p.Certificates), err)
		}
		if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence {
			continue // attribute certificates and other choices
		}
		c, err := ParseCertificate(rv.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("apksig: pkcs7: certificate %d: %w", len(p.Certificates), err)
		}
		p.Certificates = append(p.Certificates, c)
	}
	if len(p.Certificates) == 0 {
		return nil, errors.New("apksig: pkcs7: no certificates")
	}
	for rest := sd.SignerInfos.Bytes; len(rest) > 0; {
		var rv asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &rv); err != nil {
			break
		}
		var si signerInfo
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(rv.FullBytes, &si); err != nil {
			continue
		}
		if _, err := asn1.Unmarshal(si.IssuerAndSerialNumber.FullBytes, &ias); err != nil || ias.Serial == nil {
			continue
		}
		for _, c := range p.Certificates {
			var rc rawCert
			if _, err := asn1.Unmarshal(c.Raw, &rc); err != nil {
				continue
			}
			if rc.TBS.SerialNumber != nil && rc.TBS.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(rc.TBS.Issuer.FullBytes, ias.Issuer.FullBytes) {
				p.Signers = append(p.Signers, c)
				break
			}
		}
	}
	return p, nil
}

// maxBERDepth bounds nesting in berToDER.
const maxBERDepth = 64

// berToDER rewrites indefinite lengths as definite ones, so encoding/asn1
// (DER only) can read what older signing tools wrote. DER input is
// returned unchanged.
func berToDER(b []byte) ([]byte, error) {
	if !hasIndefinite(b, 0) {
		return b, nil
	}
	out, _, err := berElem(b, 0)
	return out, err
}

// hasIndefinite scans the outer structure for an 0x80 length byte.
func hasIndefinite(b []byte, depth int) bool {
	for len(b) > 0 && depth < maxBERDepth {
		_, l, hdr, ok := header(b)
		if !ok {
			return false
		}
		if l < 0 {
			return true
		}
		if b[0]&0x20 != 0 && hasIndefinite(b[hdr:hdr+l], depth+1) {
			return true
		}
		b = b[hdr+l:]
	}
	return false
}

// header parses tag and length: returns tag bytes, content length (-1 for
// indefinite), header length.
func header(b []byte) (tagLen, length, hdr int, ok bool) {
	if len(b) < 2 {
		return 0, 0, 0, false
	}
	i := 1
	if b[0]&0x1f == 0x1f {
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
	}
	tagLen = i
	if i >= len(b) {
		return 0, 0, 0, false
	}
	lb := b[i]
	i++
	switch {
	case lb == 0x80:
		return tagLen, -1, i, true
	case lb < 0x80:
		length = int(lb)
	default:
		n := int(lb & 0x7f)
		if n > 4 || i+n > len(b) {
			return 0, 0, 0, false
		}
		for k := 0; k < n; k++ {
			length = length<<8 | int(b[i+k])
		}
		i += n
	}
	if length < 0 || length > len(b)-i {
		return 0, 0, 0, false
	}
	return tagLen, length, i, true
}

func derLen(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var l []byte
	for ; n > 0; n >>= 8 {
		l = append([]byte{byte(n)}, l...)
	}
	return append([]byte{0x80 | byte(len(l))}, l...)
}

// berElem converts one element, returning it in DER and what follows.
func berElem(b []byte, depth int) (out, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, errors.New("BER nested too deep")
	}
	tagLen, l, hdr, ok := header(b)
	if !ok {
		return nil, nil, errors.New("malformed BER header")
	}
	tag := b[:tagLen]
	constructed := b[0]&0x20 != 0
	if l >= 0 {
		content := b[hdr : hdr+l]
		if constructed {
			var conv []byte
			for len(content) > 0 {
				e, r, err := berElem(content, depth+1)
				if err != nil {
					return nil, nil, err
				}
				conv = append(conv, e...)
				content = r
			}
			content = conv
		}
		return append(append(append([]byte{}, tag...), derLen(len(content))...), content...), b[hdr+l:], nil
	}
	if !constructed {
		return nil, nil, errors.New("indefinite length on a primitive")
	}
	var conv []byte
	r := b[hdr:]
	for {
		if len(r) >= 2 && r[0] == 0 && r[1] == 0 {
			r = r[2:]
			break
		}
		if len(r) == 0 {
			return nil, nil, errors.New("missing end-of-contents")
		}
		e, rr, err := berElem(r, depth+1)
		if err != nil {
			return nil, nil, err
		}
		conv = append(conv, e...)
		r = rr
	}
	return append(append(append([]byte{}, tag...), derLen(len(conv))...), conv...), r, nil
}
