package dex

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// corpusSeeds returns DEX files from the shared corpus for fuzz seeds: the
// smallest whole, and the first 8 KiB of the others (the mutator works
// best on small inputs, and the header and id tables come first).
func corpusSeeds(t testing.TB) [][]byte {
	if _, err := os.Stat(filepath.Join(corpusDir, "samples")); err != nil {
		return nil // fuzzing still runs on the generated seeds
	}
	apks, _ := filepath.Glob(filepath.Join(corpusDir, "samples", "*.apk"))
	var out [][]byte
	for _, a := range apks {
		for _, d := range readDexEntries(t, a) {
			if len(d.data) <= 32<<10 {
				out = append(out, d.data)
			} else {
				out = append(out, d.data[:8<<10])
			}
		}
	}
	return out
}

// exercise calls every reader of f; the fuzzer only checks it returns.
func exercise(f *File) {
	for range f.Strings() {
	}
	for range f.Classes() {
	}
	for i := range f.NumClasses() {
		_, _ = f.Class(i)
	}
	var buf []byte
	for i := range f.NumMethods() {
		if m, err := f.Method(i); err == nil {
			buf, _ = f.AppendProto(buf[:0], m.Proto)
		}
	}
	for range f.Fields() {
	}
	for i := range f.NumTypes() {
		_, _ = f.TypeDescriptor(i)
	}
	f.CheckStrings()
	f.FindString("Ljava/lang/Object;")
	f.HasMethod("Ljava/lang/Runtime;", "exec")
	f.ScanCode()
	MeasureStrings(f.ConstStrings())
	for range f.InvokedMethods() {
	}
	PackageCounts(nil, 2, f)
	NewClassSet().AddFile(f)
	_ = f.VerifyChecksum()
	_ = f.VerifySignature()
}

func FuzzParse(f *testing.F) {
	f.Add(mustBuild(f, auditSpec))
	f.Add(mustBuild(f, Spec{Version: 41, Classes: []string{"La;"}, Strings: []string{"x"}}))
	if c, err := BuildContainer(auditSpec, Spec{Classes: []string{"Lb/B;"}}); err == nil {
		f.Add(c)
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Detect(data)
		_, _ = ODEXPayload(data)
		files, err := ParseContainer(data)
		if err != nil {
			return
		}
		for _, df := range files {
			exercise(df)
		}
	})
}

func FuzzMUTF8(f *testing.F) {
	for _, s := range []string{"", "abc", "a\x00b", "日本", "😀", "\xed\xa0\x80", "\xc0\x80", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := DecodeMUTF8(b)
		if !utf8.ValidString(s) {
			t.Fatalf("DecodeMUTF8(% x) = %q, not valid UTF-8", b, s)
		}
		enc, _ := EncodeMUTF8(s)
		if !ValidMUTF8(enc) {
			t.Fatalf("EncodeMUTF8(%q) = % x, not valid MUTF-8", s, enc)
		}
		if DecodeMUTF8(enc) != s {
			t.Fatalf("round trip of %q changed it", s)
		}
		if sign(CompareMUTF8(b, enc)) != -sign(CompareMUTF8(enc, b)) {
			t.Fatalf("CompareMUTF8 not antisymmetric on % x, % x", b, enc)
		}
		if CompareMUTF8(b, b) != 0 {
			t.Fatalf("CompareMUTF8(% x, itself) != 0", b)
		}
		// On valid MUTF-8 the order is UTF-16 code unit order.
		s1, s2 := DecodeMUTF8(b[:len(b)/2]), DecodeMUTF8(b[len(b)/2:])
		e1, _ := EncodeMUTF8(s1)
		e2, _ := EncodeMUTF8(s2)
		if got, want := sign(CompareMUTF8(e1, e2)), slices.Compare(utf16.Encode([]rune(s1)), utf16.Encode([]rune(s2))); got != want {
			t.Fatalf("CompareMUTF8(%q, %q) = %d, UTF-16 order %d", s1, s2, got, want)
		}
	})
}
