package dex

import (
	"iter"
	"math"
)

// Thresholds of MeasureStrings, fixed so that numbers from different runs
// and apps compare. They were set on the test corpus, whose apps carry no
// string encryption, so that ordinary text, identifiers, class names, URLs,
// cipher-suite names and certificates in PEM form rarely count as encoded.
const (
	// MinMeasured is the length in bytes from which a string is examined
	// for encodings: shorter ones are too short to tell.
	MinMeasured = 16
	// MinEntropyLength is the length from which byte entropy is meaningful.
	MinEntropyLength = 64
	// HighEntropyBits is the Shannon entropy in bits per byte above which a
	// string of MinEntropyLength bytes or more counts as high-entropy. Text
	// and code stay near 4.3; base64 of random data reaches 5.6 and more.
	HighEntropyBits = 5.0
	// RandomOdd is the share of "odd" adjacent letter/digit pairs (upper
	// case after upper case, or a digit next to a letter) above which a
	// mixed-case alphanumeric string looks random. Random base64 has about
	// 0.4; identifiers and words well under 0.2.
	RandomOdd = 0.25
)

// StringStats describes a set of strings, typically the string constants
// of an app, for the "encoded string table" signal: obfuscators and packers
// keep their strings encrypted or encoded and decode them at run time. The
// numbers are evidence for a rule to weigh, not a verdict.
type StringStats struct {
	Strings  int   // strings measured
	Bytes    int64 // their total length in bytes (MUTF-8)
	Measured int   // strings of at least MinMeasured bytes

	// Among measured strings:
	HighEntropy int // MinEntropyLength bytes or more with entropy of at least HighEntropyBits
	RandomLike  int // letters and digits in random-looking proportions and order (see RandomOdd)
	Base64Like  int // only base64 characters (standard or URL-safe), length a multiple of 4, with '=' padding or random-looking
	HexLike     int // only hex digits, even length, with digits and letters both present
	Encoded     int // measured strings with at least one of the four marks above

	// Among all strings:
	NonPrintable int // control characters other than tab, CR, LF; DEL; malformed MUTF-8; unpaired surrogates; or an encoded U+0000
	NonASCII     int // at least one byte of 0x80 or more
}

// EncodedFraction is Encoded / Measured, 0 when nothing was measured.
func (s StringStats) EncodedFraction() float64 { return frac(s.Encoded, s.Measured) }

func frac(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Add merges the counts of o into s (for the DEX files of one app).
func (s *StringStats) Add(o StringStats) {
	s.Strings += o.Strings
	s.Bytes += o.Bytes
	s.Measured += o.Measured
	s.HighEntropy += o.HighEntropy
	s.RandomLike += o.RandomLike
	s.Base64Like += o.Base64Like
	s.HexLike += o.HexLike
	s.Encoded += o.Encoded
	s.NonPrintable += o.NonPrintable
	s.NonASCII += o.NonASCII
}

// MeasureStrings computes StringStats over raw MUTF-8 strings, such as
// File.ConstStrings or File.Strings. It does not allocate.
func MeasureStrings(seq iter.Seq2[int, []byte]) StringStats {
	var s StringStats
	var hist [256]uint32
	for _, b := range seq {
		s.Strings++
		s.Bytes += int64(len(b))
		ascii, printable := classify(b)
		if !ascii {
			s.NonASCII++
		}
		if !printable {
			s.NonPrintable++
		}
		if len(b) < MinMeasured {
			continue
		}
		s.Measured++
		enc := false
		if len(b) >= MinEntropyLength && entropy(b, &hist) >= HighEntropyBits {
			s.HighEntropy++
			enc = true
		}
		if randomLike(b) {
			s.RandomLike++
			enc = true
		}
		if base64Like(b) {
			s.Base64Like++
			enc = true
		}
		if hexLike(b) {
			s.HexLike++
			enc = true
		}
		if enc {
			s.Encoded++
		}
	}
	return s
}

func classify(b []byte) (ascii, printable bool) {
	ascii, printable = true, true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			continue
		}
		if c == 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			printable = false
		}
	}
	if !ascii && printable && !ValidMUTF8(b) {
		printable = false
	}
	if !ascii && printable {
		// An encoded U+0000 (C0 80) is legal MUTF-8 but no text needs it.
		for i := 0; i+1 < len(b); i++ {
			if b[i] == 0xc0 && b[i+1] == 0x80 {
				printable = false
				break
			}
		}
	}
	return ascii, printable
}

// entropy is the Shannon entropy of the bytes of b in bits per byte. hist
// must be all zero and is left all zero.
func entropy(b []byte, hist *[256]uint32) float64 {
	for _, c := range b {
		hist[c]++
	}
	n := float64(len(b))
	h := 0.0
	for _, c := range b {
		if k := hist[c]; k != 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
			hist[c] = 0
		}
	}
	return h
}

// charClass is 1 for upper case, 2 for lower case, 3 for digits, 4 for the
// other base64 characters and 0 for anything else.
func charClass(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return 1
	case c >= 'a' && c <= 'z':
		return 2
	case c >= '0' && c <= '9':
		return 3
	case c == '+' || c == '/' || c == '=' || c == '-' || c == '_':
		return 4
	}
	return 0
}

// randomLike reports whether b reads like random letters and digits:
// nearly all base64-alphabet characters; upper and lower case each between a
// quarter and two thirds of the letters and digits, with some digits (words
// and camelCase identifiers are mostly lower case, constants mostly upper);
// and a high share of "odd" neighbours, upper case after upper case or a
// digit beside a letter, which text rarely has and random data often does.
func randomLike(b []byte) bool {
	var n [5]int
	pairs, odd := 0, 0
	prev := 0
	for _, c := range b {
		k := charClass(c)
		n[k]++
		if k == 0 || k == 4 {
			prev = 0
			continue
		}
		if prev != 0 {
			pairs++
			if (prev == 1 && k == 1) || (prev == 3) != (k == 3) {
				odd++
			}
		}
		prev = k
	}
	alnum := n[1] + n[2] + n[3]
	if n[0]*10 > len(b) || alnum < MinMeasured || n[3] == 0 {
		return false
	}
	if n[1]*4 < alnum || n[1]*3 > alnum*2 || n[2]*4 < alnum || n[2]*3 > alnum*2 {
		return false
	}
	return float64(odd) >= RandomOdd*float64(pairs)
}

// base64Like reports whether b is base64 text: only its alphabet, a length
// that is a multiple of 4, and either '=' padding or random-looking content.
func base64Like(b []byte) bool {
	if len(b)%4 != 0 {
		return false
	}
	end := len(b)
	for end > 0 && b[end-1] == '=' {
		end--
	}
	if len(b)-end > 2 {
		return false
	}
	upper, lower, digit := false, false, false
	for _, c := range b[:end] {
		switch charClass(c) {
		case 1:
			upper = true
		case 2:
			lower = true
		case 3:
			digit = true
		case 4:
			if c == '=' {
				return false
			}
		default:
			return false
		}
	}
	if !upper || !lower {
		return false
	}
	return end < len(b) || (digit && randomLike(b))
}

func hexLike(b []byte) bool {
	if len(b)%2 != 0 {
		return false
	}
	digit, letter := false, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letter = true
		default:
			return false
		}
	}
	return digit && letter
}
