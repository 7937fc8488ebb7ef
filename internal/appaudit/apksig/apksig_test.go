package apksig

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t testing.TB, cn string, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Example"}, Country: []string{"CN"}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pkcs7 wraps certificates in a SignedData whose one SignerInfo names
// signer (issuer and serial of that DER certificate).
func pkcs7(t testing.TB, signer []byte, certs ...[]byte) []byte {
	t.Helper()
	var bag []byte
	for _, c := range certs {
		bag = append(bag, c...)
	}
	xc, err := x509.ParseCertificate(signer)
	if err != nil {
		t.Fatal(err)
	}
	ias, _ := asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: xc.RawIssuer}, Serial: xc.SerialNumber})
	si, _ := asn1.Marshal(struct {
		Version int
		IAS     asn1.RawValue
		DigAlg  pkix.AlgorithmIdentifier
		EncAlg  pkix.AlgorithmIdentifier
		Sig     []byte
	}{1, asn1.RawValue{FullBytes: ias}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}, []byte{1, 2, 3}})
	sd, err := asn1.Marshal(struct {
		Version      int
		DigestAlgs   asn1.RawValue
		ContentInfo  struct{ Type asn1.ObjectIdentifier }
		Certificates asn1.RawValue
		SignerInfos  asn1.RawValue
	}{
		1,
		asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
		struct{ Type asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bag},
		asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: si},
	})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// toBER re-encodes the two outer levels with indefinite lengths, as old
// jarsigner versions did.
func toBER(t testing.TB, der []byte) []byte {
	_, l, hdr, ok := header(der)
	if !ok {
		t.Fatal("bad DER")
	}
	inner := der[hdr : hdr+l] // OID, [0]
	var out []byte
	out = append(out, der[0], 0x80)
	// copy the OID as is, then the [0] with indefinite length
	_, ol, ohdr, _ := header(inner)
	out = append(out, inner[:ohdr+ol]...)
	rest := inner[ohdr+ol:]
	_, cl, chdr, _ := header(rest)
	out = append(out, rest[0], 0x80)
	out = append(out, rest[chdr:chdr+cl]...)
	out = append(out, 0, 0, 0, 0)
	return out
}

func TestPKCS7(t *testing.T) {
	first := selfSigned(t, "Not Used", 7)
	signer := selfSigned(t, "Real Signer", 8)
	der := pkcs7(t, signer, first, signer)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"der", der}, {"ber", toBER(t, der)}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePKCS7(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Certificates) != 2 || len(p.Signers) != 1 {
				t.Fatalf("%d certificates, %d signers", len(p.Certificates), len(p.Signers))
			}
			s := p.Signers[0]
			if s.Subject != "CN=Real Signer,O=Example,C=CN" || s.SerialNumber != "08" || s.PublicKeyAlgorithm != "ECDSA" {
				t.Errorf("signer %q serial %q alg %q", s.Subject, s.SerialNumber, s.PublicKeyAlgorithm)
			}
			if !s.NotBefore.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || len(s.SHA256) != 64 {
				t.Errorf("validity %v, sha256 %q", s.NotBefore, s.SHA256)
			}
		})
	}
	for _, bad := range [][]byte{nil, {0x30, 0x80}, der[:len(der)/2], {0x30, 0x03, 0x06, 0x01, 0x00}} {
		if _, err := ParsePKCS7(bad); err == nil {
			t.Errorf("ParsePKCS7(% x) succeeded", bad)
		}
	}
}

// crypto/x509 refuses negative serials (seen in old Android certificates);
// the fallback decoder still describes the certificate.
func TestNegativeSerialFallback(t *testing.T) {
	der := selfSigned(t, "Old App", 0x7f)
	// The serial is INTEGER 0x7f: "02 01 7f"; make it 0x80 (= -128).
	i := bytes.Index(der, []byte{0x02, 0x01, 0x7f})
	if i < 0 {
		t.Fatal("serial not found")
	}
	der[i+2] = 0x80
	c, err := ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert != nil {
		t.Skip("crypto/x509 accepts negative serials in this configuration")
	}
	if c.SerialNumber != "-80" || c.Subject != "CN=Old App,O=Example,C=CN" || c.Issuer != c.Subject || c.NotAfter.Year() != 2045 {
		t.Errorf("fallback: %+v", c)
	}
}

type memFS map[string][]byte

func (m memFS) Names() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (m memFS) ReadFile(n string) ([]byte, error) { return m[n], nil }

func TestV1(t *testing.T) {
	c := selfSigned(t, "A", 1)
	fs := memFS{
		"META-INF/CERT.RSA":     pkcs7(t, c, c),
		"META-INF/other.ec":     []byte("junk"),
		"META-INF/sub/X.RSA":    pkcs7(t, c, c), // not a signature block
		"META-INF/MANIFEST.MF":  []byte("Manifest-Version: 1.0"),
		"assets/META-INF/Y.DSA": nil,
	}
	sigs, err := V1(fs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || sigs[0].File != "META-INF/CERT.RSA" || sigs[0].Err != nil || sigs[1].Err == nil {
		t.Fatalf("V1 = %+v", sigs)
	}
	if sigs[0].Signers[0].Subject != "CN=A,O=Example,C=CN" {
		t.Errorf("subject %q", sigs[0].Signers[0].Subject)
	}
}

func lpBytes(b ...[]byte) []byte {
	var body []byte
	for _, x := range b {
		body = append(body, x...)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// withSigningBlock builds a ZIP and inserts an APK Signing Block with the
// given pairs before its central directory.
func withSigningBlock(t testing.TB, pairs map[uint32][]byte, order []uint32) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("AndroidManifest.xml")
	f.Write([]byte("manifest"))
	const comment = "a comment with PK\x05\x06 inside"
	w.SetComment(comment)
	w.Close()
	z := buf.Bytes()
	cd, err := centralDirectoryOffset(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, id := range order {
		v := pairs[id]
		body = binary.LittleEndian.AppendUint64(body, uint64(len(v)+4))
		body = binary.LittleEndian.AppendUint32(body, id)
		body = append(body, v...)
	}
	size := uint64(len(body) + 24)
	blk := binary.LittleEndian.AppendUint64(nil, size)
	blk = append(blk, body...)
	blk = binary.LittleEndian.AppendUint64(blk, size)
	blk = append(blk, blockMagic...)
	out := append(append(append([]byte{}, z[:cd]...), blk...), z[cd:]...)
	// Patch the EOCD's central directory offset.
	eocd := len(out) - 22 - len(comment)
	binary.LittleEndian.PutUint32(out[eocd+16:], uint32(cd)+uint32(len(blk)))
	return out
}

func v2Signer(certs ...[]byte) []byte {
	var cs [][]byte
	for _, c := range certs {
		cs = append(cs, lpBytes(c))
	}
	signed := lpBytes(lpBytes(), lpBytes(cs...), lpBytes())
	return lpBytes(lpBytes(signed, lpBytes(), lpBytes()))
}

func v3Signer(min, max uint32, cert []byte) []byte {
	sdk := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, min), max)
	signed := lpBytes(lpBytes(), lpBytes(lpBytes(cert)), sdk, lpBytes())
	return lpBytes(lpBytes(signed, sdk, lpBytes(), lpBytes()))
}

func TestSigningBlock(t *testing.T) {
	c2, c3 := selfSigned(t, "V2", 2), selfSigned(t, "V3", 3)
	channel := []byte(`{"channel":"huawei"}`)
	z := withSigningBlock(t, map[uint32][]byte{
		IDv2: v2Signer(c2), IDv3: v3Signer(24, 0x7fffffff, c3), IDWalleChannel: channel, IDPadding: make([]byte, 100),
	}, []uint32{IDv2, IDv3, IDWalleChannel, IDPadding})
	sb, err := FindSigningBlock(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.V2) != 1 || sb.V2[0].Certificates[0].Subject != "CN=V2,O=Example,C=CN" {
		t.Fatalf("v2 = %+v", sb.V2)
	}
	if len(sb.V3) != 1 || sb.V3[0].MinSDK != 24 || sb.V3[0].MaxSDK != 0x7fffffff || sb.V3[0].Certificates[0].Subject != "CN=V3,O=Example,C=CN" {
		t.Fatalf("v3 = %+v", sb.V3)
	}
	names := []string{}
	for _, p := range sb.Pairs {
		names = append(names, p.Name)
		if p.ID == IDWalleChannel && !bytes.Equal(p.Value, channel) {
			t.Errorf("walle value %q", p.Value)
		}
	}
	if got := names; len(got) != 4 || got[2] != "walle-channel" || got[3] != "padding" {
		t.Errorf("pairs %v", got)
	}
	if len(sb.Errs) != 0 {
		t.Errorf("errs %v", sb.Errs)
	}
	// The archive still opens as a ZIP.
	if _, err := zip.NewReader(bytes.NewReader(z), int64(len(z))); err != nil {
		t.Errorf("zip with block: %v", err)
	}
}

func TestNoSigningBlock(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.Create("a")
	w.Close()
	if _, err := FindSigningBlock(bytes.NewReader(buf.Bytes()), int64(buf.Len())); !errors.Is(err, ErrNoSigningBlock) {
		t.Errorf("plain zip: %v", err)
	}
	if _, err := FindSigningBlock(bytes.NewReader([]byte("not a zip")), 9); err == nil || errors.Is(err, ErrNoSigningBlock) {
		t.Errorf("not a zip: %v", err)
	}
	// A block whose pair overruns it is an error, not a panic.
	z := withSigningBlock(t, map[uint32][]byte{IDv2: v2Signer(selfSigned(t, "x", 1))}, []uint32{IDv2})
	i := bytes.Index(z, binary.LittleEndian.AppendUint32(nil, IDv2)) - 8
	binary.LittleEndian.PutUint64(z[i:], 1<<40)
	if _, err := FindSigningBlock(bytes.NewReader(z), int64(len(z))); err == nil {
		t.Error("overrunning pair accepted")
	}
}
