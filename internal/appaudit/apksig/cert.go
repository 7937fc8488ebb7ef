// Package apksig extracts who signed an APK: the signer certificates of v1
// JAR signing (the PKCS#7 SignedData in META-INF/*.RSA, *.DSA, *.EC) and of
// the APK Signing Block (v2, v3, v3.1) that sits before the ZIP central
// directory, plus the block's other entries (padding, source stamp, and
// channel blocks such as Meituan Walle's or Tencent VasDolly's).
//
// It identifies; it does not verify signatures or digests. PKCS#7 and the
// signing block are decoded by hand with encoding/asn1 and crypto/x509 (no
// third-party PKCS#7 library); BER input (indefinite lengths, as some old
// jarsigner versions wrote) is normalised to DER first. Certificates that
// crypto/x509 refuses (negative serials, odd names) still yield subject,
// issuer, serial, validity and fingerprints from a plain ASN.1 decode.
//
// apksig must never import the other appaudit packages; an APK is read
// through the FileSource interface (apk.Archive satisfies it) and an
// io.ReaderAt.
package apksig

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// Certificate describes one X.509 certificate.
type Certificate struct {
	Subject            string
	Issuer             string
	SerialNumber       string // lowercase hex; negative serials carry a leading "-"
	SHA256             string // lowercase hex of the DER, as apksigner prints it
	SHA1               string
	NotBefore          time.Time
	NotAfter           time.Time
	PublicKeyAlgorithm string // "RSA", "ECDSA", "DSA", "Ed25519" or "" if unknown
	SignatureAlgorithm string
	Raw                []byte
	// Cert is the crypto/x509 view, nil when crypto/x509 refused the DER.
	Cert *x509.Certificate
}

// tbs is the subset of TBSCertificate the fallback decoder needs.
type tbs struct {
	Raw          asn1.RawContent
	Version      int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber *big.Int
	SigAlg       pkix.AlgorithmIdentifier
	Issuer       asn1.RawValue
	Validity     struct{ NotBefore, NotAfter time.Time }
	Subject      asn1.RawValue
}

type rawCert struct {
	TBS    tbs
	SigAlg pkix.AlgorithmIdentifier
	Sig    asn1.BitString
}

// ParseCertificate describes the certificate in der.
func ParseCertificate(der []byte) (*Certificate, error) {
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	c := &Certificate{Raw: der, SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:])}
	if xc, err := x509.ParseCertificate(der); err == nil {
		c.Cert = xc
		c.Subject, c.Issuer = xc.Subject.String(), xc.Issuer.String()
		c.SerialNumber = serialHex(xc.SerialNumber)
		c.NotBefore, c.NotAfter = xc.NotBefore, xc.NotAfter
		if xc.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm {
			c.PublicKeyAlgorithm = xc.PublicKeyAlgorithm.String()
		}
		if xc.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
			c.SignatureAlgorithm = xc.SignatureAlgorithm.String()
		}
		return c, nil
	}
	var rc rawCert
	rest, err := asn1.Unmarshal(der, &rc)
	if err != nil {
		return nil, fmt.Errorf("apksig: certificate: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("apksig: certificate: %d trailing bytes", len(rest))
	}
	c.Subject, c.Issuer = nameString(rc.TBS.Subject.FullBytes), nameString(rc.TBS.Issuer.FullBytes)
	c.SerialNumber = serialHex(rc.TBS.SerialNumber)
	c.NotBefore, c.NotAfter = rc.TBS.Validity.NotBefore, rc.TBS.Validity.NotAfter
	c.SignatureAlgorithm = rc.SigAlg.Algorithm.String()
	return c, nil
}

func serialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	if n.Sign() < 0 {
		return "-" + hex.EncodeToString(new(big.Int).Neg(n).Bytes())
	}
	return hex.EncodeToString(n.Bytes())
}

func nameString(der []byte) string {
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdn); err != nil {
		return ""
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}
