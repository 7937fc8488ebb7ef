package dex

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func seqOf(ss ...string) func(func(int, []byte) bool) {
	return func(yield func(int, []byte) bool) {
		for i, s := range ss {
			b, _ := EncodeMUTF8(s)
			if !yield(i, b) {
				return
			}
		}
	}
}

func TestStringMarks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	type marks struct{ high, random, b64, hex bool }
	tests := []struct {
		name string
		s    string
		want marks
	}{
		{"base64 key", base64.StdEncoding.EncodeToString(random(32)), marks{false, true, true, false}},
		{"base64 long", base64.StdEncoding.EncodeToString(random(300)), marks{true, true, true, false}},
		{"padded base64 of repetitive text", base64.StdEncoding.EncodeToString([]byte("aaaaaaaaaaaaaaaaa")), marks{false, false, true, false}},
		{"base64 of JSON", base64.StdEncoding.EncodeToString([]byte(`{"user":"bob","id":1}`)), marks{false, true, true, false}},
		{"hex digest", hex.EncodeToString(random(20)), marks{false, false, false, true}},
		{"camelCase", "AccessibilityWindowInfoApi21Impl", marks{}},
		{"class name", "Landroid/support/v4/app/FragmentActivity;", marks{}},
		{"constant", "TLS_DH_anon_WITH_AES_256_CBC_SHA", marks{}},
		{"url", "http://api.weibo.cn/2/client/common_config", marks{}},
		{"prose", "Please check your network connection and try again later.", marks{}},
		{"long prose", "The quick brown fox jumps over the lazy dog while the cat sleeps on a warm windowsill in the afternoon sun.", marks{}},
		{"digits only", "12345678901234567890", marks{}},
		{"short", "aB3dE5gH9", marks{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.s)
			var hist [256]uint32
			got := marks{
				len(b) >= MinEntropyLength && entropy(b, &hist) >= HighEntropyBits,
				len(b) >= MinMeasured && randomLike(b),
				len(b) >= MinMeasured && base64Like(b),
				len(b) >= MinMeasured && hexLike(b),
			}
			if got != tc.want {
				t.Errorf("%q: marks %+v, want %+v", tc.s, got, tc.want)
			}
			if hist != [256]uint32{} {
				t.Error("entropy left the histogram dirty")
			}
		})
	}
}

func TestMeasureStrings(t *testing.T) {
	s := MeasureStrings(seqOf(
		"short",
		"AccessibilityWindowInfoApi21Impl", // measured, plain
		"ZdvpwpF09ah9qMkbMMBkQbN3G9MUkP5Jgcz6nA07dkM=", // measured, base64 + random
		"5e8f16062ea3cd2c4a0d547876baa6f38cabf625",     // measured, hex
		"tab\tand newline\n are fine",                  // measured, printable
		"bell\a",                                       // non-printable
		"日本語のテキスト",                                     // non-ASCII, printable
		"nul\x00inside",                                // encoded U+0000: non-printable
		string([]rune{0xd800}),                         // lone surrogate (encoded as U+FFFD by EncodeMUTF8)
	))
	want := StringStats{Strings: 9, Measured: 5, RandomLike: 1, Base64Like: 1, HexLike: 1, Encoded: 2, NonPrintable: 2, NonASCII: 3}
	want.Bytes = s.Bytes
	if s != want {
		t.Errorf("stats\n%+v\nwant\n%+v", s, want)
	}
	if f := s.EncodedFraction(); f != 0.4 {
		t.Errorf("EncodedFraction %v, want 0.4", f)
	}
	var sum StringStats
	sum.Add(s)
	sum.Add(s)
	if sum.Strings != 18 || sum.Encoded != 4 || sum.NonPrintableFraction() != s.NonPrintableFraction() || sum.NonASCIIFraction() != s.NonASCIIFraction() {
		t.Errorf("Add: %+v", sum)
	}
	if (StringStats{}).EncodedFraction() != 0 {
		t.Error("fraction of nothing is not 0")
	}
	// Malformed MUTF-8 bytes count as non-printable.
	bad := MeasureStrings(func(yield func(int, []byte) bool) { yield(0, []byte{0xed, 0xa0, 0x80}) })
	if bad.NonPrintable != 1 {
		t.Errorf("lone surrogate bytes: %+v", bad)
	}
}
