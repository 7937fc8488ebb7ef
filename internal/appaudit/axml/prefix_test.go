package axml

import (
	"encoding/binary"
	"errors"
	"testing"
)

// rootEnd is the offset just past the sample manifest's root start element.
func rootEnd(t *testing.T, b []byte) int {
	t.Helper()
	off := 8
	for off+8 <= len(b) {
		typ := binary.LittleEndian.Uint16(b[off:])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		off += size
		if typ == ResXMLStartElement {
			return off
		}
	}
	t.Fatal("no start element")
	return 0
}

// Every prefix of a manifest either fails (the root is not in it) or gives
// the root's package; Parse refuses every prefix, as Android does.
func TestParsePrefix(t *testing.T) {
	for _, utf8 := range []bool{false, true} {
		full := sampleManifest(utf8)
		need := rootEnd(t, full)
		for n := 0; n < len(full); n++ {
			b := full[:n]
			if _, err := Parse(b); err == nil {
				t.Fatalf("utf8=%v: Parse accepted a %d-byte prefix of %d", utf8, n, len(full))
			}
			d, err := ParsePrefix(b)
			if n < need {
				if err == nil {
					t.Fatalf("utf8=%v: ParsePrefix of %d bytes (root ends at %d) gave a document", utf8, n, need)
				}
				continue
			}
			if err != nil {
				t.Fatalf("utf8=%v: ParsePrefix of %d bytes (root ends at %d): %v", utf8, n, need, err)
			}
			m, err := DecodeManifest(d)
			if err != nil || m.Package != "com.example.app" || m.VersionName != "1.2.3" {
				t.Fatalf("utf8=%v, %d bytes: manifest %+v, %v", utf8, n, m, err)
			}
			if len(d.Warnings) == 0 {
				t.Fatalf("utf8=%v, %d bytes: no warning that the file was cut", utf8, n)
			}
		}
		// The whole file parses the same either way.
		d, err := ParsePrefix(full)
		if err != nil || len(d.Warnings) != 0 {
			t.Fatalf("utf8=%v: whole file: %v, warnings %v", utf8, err, d.Warnings)
		}
	}
	if _, err := ParsePrefix(nil); err == nil || errors.Is(err, ErrNoRoot) {
		t.Errorf("empty input: %v, want a header error", err)
	}
}
