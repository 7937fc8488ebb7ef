package dex

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestMUTF8(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		enc   []byte
		units int
	}{
		{"empty", "", []byte{}, 0},
		{"ascii", "Lcom/foo/Bar;", []byte("Lcom/foo/Bar;"), 13},
		{"nul", "a\x00b", []byte{'a', 0xc0, 0x80, 'b'}, 3},
		{"two-byte", "é", []byte{0xc3, 0xa9}, 1},
		{"three-byte", "日", []byte{0xe6, 0x97, 0xa5}, 1},
		{"supplementary", "😀", []byte{0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, units := EncodeMUTF8(tc.s)
			if !bytes.Equal(enc, tc.enc) || units != tc.units {
				t.Errorf("EncodeMUTF8(%q) = % x, %d; want % x, %d", tc.s, enc, units, tc.enc, tc.units)
			}
			if got := DecodeMUTF8(tc.enc); got != tc.s {
				t.Errorf("DecodeMUTF8(% x) = %q, want %q", tc.enc, got, tc.s)
			}
			if !ValidMUTF8(tc.enc) {
				t.Errorf("ValidMUTF8(% x) = false", tc.enc)
			}
		})
	}
}

func TestMUTF8Malformed(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"lone continuation", []byte{'a', 0x80, 'b'}, "a\uFFFDb"},
		{"truncated two-byte", []byte{'a', 0xc3}, "a\uFFFD"},
		{"truncated three-byte", []byte{0xe6, 0x97, 'x'}, "\uFFFD\uFFFDx"},
		{"four-byte UTF-8", []byte{0xf0, 0x9f, 0x98, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"lone high surrogate", []byte{0xed, 0xa0, 0xbd, 'x'}, "\uFFFDx"},
		{"lone low surrogate", []byte{0xed, 0xb8, 0x80}, "\uFFFD"},
		{"raw zero", []byte{'a', 0, 'b'}, "a\x00b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecodeMUTF8(tc.b); got != tc.want {
				t.Errorf("DecodeMUTF8(% x) = %q, want %q", tc.b, got, tc.want)
			}
			if ValidMUTF8(tc.b) {
				t.Errorf("ValidMUTF8(% x) = true", tc.b)
			}
		})
	}
}

// CompareMUTF8 must order strings as their UTF-16 code units do, which is
// what the specification requires of the string pool.
func TestCompareMUTF8MatchesUTF16(t *testing.T) {
	alphabet := []rune{0, 'a', 'z', 0x7f, 0x80, 0x7ff, 0x800, 0xe000, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		n := r.IntN(4)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(rs)
	}
	for range 20000 {
		a, b := gen(), gen()
		ea, _ := EncodeMUTF8(a)
		eb, _ := EncodeMUTF8(b)
		want := slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
		got := CompareMUTF8(ea, eb)
		if sign(got) != want {
			t.Fatalf("CompareMUTF8(%q, %q) = %d, UTF-16 order %d", a, b, got, want)
		}
	}
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
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
