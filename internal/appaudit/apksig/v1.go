package apksig

import (
	"fmt"
	"sort"
	"strings"
)

// FileSource is an opened archive: apk.Archive satisfies it.
type FileSource interface {
	Names() []string
	ReadFile(name string) ([]byte, error)
}

// V1Signature is one META-INF signature block file.
type V1Signature struct {
	File string // "META-INF/CERT.RSA"
	PKCS7
	Err error // set when the block could not be read or decoded
}

// IsV1Block reports whether an entry name is a JAR signature block file, as
// Android's JarVerifier recognises them: directly in META-INF/, with the
// extension .RSA, .DSA or .EC (any case).
func IsV1Block(name string) bool {
	rest, ok := strings.CutPrefix(name, "META-INF/")
	if !ok || strings.Contains(rest, "/") {
		return false
	}
	u := strings.ToUpper(rest)
	return strings.HasSuffix(u, ".RSA") || strings.HasSuffix(u, ".DSA") || strings.HasSuffix(u, ".EC")
}

// V1 decodes every v1 signature block of the archive, sorted by file name.
// A block that fails to decode is returned with Err set; the error result
// is reserved for failures to list the archive.
func V1(src FileSource) ([]V1Signature, error) {
	var names []string
	for _, n := range src.Names() {
		if IsV1Block(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []V1Signature
	for _, n := range names {
		s := V1Signature{File: n}
		b, err := src.ReadFile(n)
		if err == nil {
			var p *PKCS7
			if p, err = ParsePKCS7(b); err == nil {
				s.PKCS7 = *p
			}
		}
		if err != nil {
			s.Err = fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, s)
	}
	return out, nil
}
