// Package safetext makes untrusted text safe for the places outflow prints
// it: a terminal (no control sequences, no bidirectional overrides) and a
// spreadsheet cell (no formulas). Names in captures, apps, inventories and
// logs are attacker-chosen; every text and CSV writer passes them through
// here so that one rule holds everywhere.
//
// It imports only the standard library and must never import another
// outflow package.
package safetext

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Terminal returns s with every byte or rune that could move the cursor,
// change colours, rewrite a line or reorder text on a terminal written as a
// visible escape: C0 controls and DEL as \xNN (\t, \n and \r included, so a
// value cannot start a fake line of its own), C1 controls and bidirectional
// overrides as \uNNNN, invalid UTF-8 as \xNN. Printable text, Chinese
// included, passes unchanged; a backslash is left as it is. s is returned
// without copying when nothing needs escaping.
func Terminal(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case unsafeRune(r):
			if r < 0x80 {
				writeHex(&b, `\x`, uint32(r), 2)
			} else {
				writeHex(&b, `\u`, uint32(r), 4)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			return i
		}
		i += n
	}
	return -1
}

// unsafeRune reports the runes a terminal acts on instead of showing:
// C0, DEL, C1, the bidirectional embeddings, overrides and isolates, and
// the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"

func writeHex(b *strings.Builder, prefix string, v uint32, width int) {
	b.WriteString(prefix)
	for s := (width - 1) * 4; s >= 0; s -= 4 {
		b.WriteByte(hexDigits[(v>>uint(s))&0xf])
	}
}

// CSVCell neutralises a spreadsheet formula the OWASP way: a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading single
// quote, so Excel, LibreOffice and Google Sheets show it as text. A cell
// that is a plain number ("-3", "+1.5e3") is left alone, so that numeric
// columns stay numeric.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
	default:
		return s
	}
	if s[0] == '-' || s[0] == '+' {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
	}
	return "'" + s
}

// CSVWriter is an encoding/csv writer whose every cell goes through
// CSVCell. Use it for every CSV that outflow writes.
type CSVWriter struct {
	w   *csv.Writer
	row []string
}

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one record with each cell neutralised. The caller's slice
// is not changed.
func (c *CSVWriter) Write(record []string) error {
	c.row = c.row[:0]
	for _, s := range record {
		c.row = append(c.row, CSVCell(s))
	}
	return c.w.Write(c.row)
}

// Flush writes any buffered data to the underlying writer.
func (c *CSVWriter) Flush() { c.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (c *CSVWriter) Error() error { return c.w.Error() }

// Fprintf is fmt.Fprintf with every string, []byte and error argument
// passed through Terminal first: the format is the program's, the
// arguments may be anyone's. Other values are formatted as usual (a
// Stringer is not touched, since its verb may be numeric: pass its
// String() when it carries outside text).
func Fprintf(w io.Writer, format string, a ...any) (int, error) {
	for i, v := range a {
		switch s := v.(type) {
		case string:
			a[i] = Terminal(s)
		case []byte:
			a[i] = Terminal(string(s))
		case error:
			a[i] = Terminal(s.Error())
		}
	}
	return fmt.Fprintf(w, format, a...)
}
