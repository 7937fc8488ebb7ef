// Package csvtab reads the CSV exports of MDM consoles for the inventory
// parsers: RFC 4180 records with the line each starts on, a delimiter
// guessed from the header (comma, semicolon or tab, or Excel's "sep=" line),
// header names matched loosely ("Device name" = "DeviceName" =
// "device_name"), and fields handed out as byte slices so that a parser can
// intern them instead of allocating a string per field. Parser is the
// inventory.Parser every CSV format shares: a format package names its
// columns and reads its rows (Export), nothing more.
//
// It must never import a specific format's package; only the inventory
// model.
package csvtab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// MaxRecord is the longest record (bytes, quoted newlines included) a Reader
// accepts; longer ones are reported and skipped.
const MaxRecord = 1 << 20

// SyntaxError is a malformed record. The Reader has skipped it; Read may be
// called again.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Reader reads CSV records. Fields returned by Read are valid until the next
// call.
type Reader struct {
	Comma byte // 0 until the first record, then the detected delimiter

	br      *bufio.Reader
	line    int
	starts  []int  // where each physical line of rec starts
	replay  []byte // lines to read again, each ending in '\n'
	replayI int
	started bool
	tooLong bool   // the last physical line was cut at MaxRecord
	long    []byte // physical line longer than the bufio buffer
	rec     []byte
	buf     []byte
	fields  [][]byte
}

// NewReader returns a Reader on r with delimiter detection.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Read returns the next non-blank record and the 1-based line it starts on.
// It returns io.EOF at the end, a *SyntaxError for a malformed record, or
// the underlying read error.
func (r *Reader) Read() ([][]byte, int, error) {
	for {
		phys, err := r.readLine()
		if err != nil {
			return nil, 0, err
		}
		start := r.line
		if r.tooLong {
			return nil, start, &SyntaxError{Line: start, Msg: fmt.Sprintf("line longer than %d bytes", MaxRecord)}
		}
		if !r.started {
			phys = bytes.TrimPrefix(phys, []byte("\xef\xbb\xbf"))
			// Excel honours "sep=" only as the file's first line.
			if start == 1 && len(phys) == 5 && bytes.HasPrefix(phys, []byte("sep=")) {
				r.Comma = phys[4]
				r.started = true
				continue
			}
		}
		if len(bytes.TrimSpace(phys)) == 0 {
			continue
		}
		r.rec = append(r.rec[:0], phys...)
		r.starts = append(r.starts[:0], 0)
		if !r.started {
			r.started = true
			if r.Comma == 0 {
				r.Comma = guessComma(r.rec)
			}
		}
		for {
			more, serr := r.split()
			if serr != nil {
				r.RetryLast()
				return nil, start, &SyntaxError{Line: start, Msg: serr.Error()}
			}
			if !more {
				return r.fields, start, nil
			}
			phys, err = r.readLine()
			if err == io.EOF {
				r.RetryLast()
				return nil, start, &SyntaxError{Line: start, Msg: "quoted field not closed before end of input"}
			}
			if err != nil {
				return nil, 0, err
			}
			if r.tooLong || len(r.rec)+1+len(phys) > MaxRecord {
				r.RetryLast()
				return nil, start, &SyntaxError{Line: start, Msg: fmt.Sprintf("record longer than %d bytes (unclosed quote?)", MaxRecord)}
			}
			r.rec = append(r.rec, '\n')
			r.starts = append(r.starts, len(r.rec))
			r.rec = append(r.rec, phys...)
		}
	}
}

// RetryLast makes the lines after the first of the last record, if it
// spanned several, be read again as records of their own; it reports whether
// there were such lines. A stray quote opens a field that swallows the
// following lines until the next quote; when that record then turns out
// malformed, this resynchronises on the line after the bad one instead of
// losing the lines in between. Read calls it on its own syntax errors;
// callers call it when a record proves wrong for other reasons (its number
// of fields).
func (r *Reader) RetryLast() bool {
	if len(r.starts) <= 1 {
		return false
	}
	cont := r.rec[r.starts[1]:]
	replay := make([]byte, 0, len(cont)+1+len(r.replay)-r.replayI)
	replay = append(append(replay, cont...), '\n')
	replay = append(replay, r.replay[r.replayI:]...)
	r.replay, r.replayI = replay, 0
	r.line -= len(r.starts) - 1
	r.starts = r.starts[:1]
	return true
}

// readLine returns the next physical line without its line ending.
func (r *Reader) readLine() ([]byte, error) {
	if r.replayI < len(r.replay) {
		rest := r.replay[r.replayI:]
		i := bytes.IndexByte(rest, '\n') // every replayed line ends in '\n'
		r.replayI += i + 1
		r.line++
		r.tooLong = false
		return rest[:i], nil
	}
	b, err := r.br.ReadSlice('\n')
	r.tooLong = false
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = r.br.ReadSlice('\n')
			if len(r.long) <= MaxRecord {
				r.long = append(r.long, b...)
			}
		}
		r.tooLong = len(r.long) > MaxRecord
		b = r.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(b) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	r.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}

var errAfterQuote = errors.New("unexpected character after closing quote")

// split cuts r.rec into r.fields. more reports an open quoted field that
// continues on the next line.
func (r *Reader) split() (more bool, err error) {
	rec, comma := r.rec, r.Comma
	r.fields = r.fields[:0]
	r.buf = r.buf[:0]
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			i++
			start := len(r.buf)
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					return true, nil
				}
				r.buf = append(r.buf, rec[i:i+j]...)
				i += j + 1
				if i < len(rec) && rec[i] == '"' {
					r.buf = append(r.buf, '"')
					i++
					continue
				}
				break
			}
			r.fields = append(r.fields, r.buf[start:len(r.buf):len(r.buf)])
			switch {
			case i == len(rec):
				return false, nil
			case rec[i] == comma:
				i++
				continue
			}
			return false, fmt.Errorf("field %d: %w", len(r.fields), errAfterQuote)
		}
		j := bytes.IndexByte(rec[i:], comma)
		if j < 0 {
			r.fields = append(r.fields, rec[i:len(rec):len(rec)])
			return false, nil
		}
		r.fields = append(r.fields, rec[i:i+j:i+j])
		i += j + 1
	}
}

// guessComma picks the most frequent of comma, semicolon and tab outside
// quotes in a header line.
func guessComma(line []byte) byte {
	var n [3]int
	quoted := false
	for _, c := range line {
		switch c {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				n[0]++
			}
		case ';':
			if !quoted {
				n[1]++
			}
		case '\t':
			if !quoted {
				n[2]++
			}
		}
	}
	switch {
	case n[1] > n[0] && n[1] >= n[2]:
		return ';'
	case n[2] > n[0] && n[2] > n[1]:
		return '\t'
	}
	return ','
}

// Norm folds a header name for matching: ASCII lower case, without blanks,
// underscores, hyphens, dots, slashes, parentheses and a byte-order mark.
func Norm(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		case c == ' ', c == '_', c == '-', c == '.', c == '/', c == '(', c == ')', c == '\t':
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// Header is a CSV header row with folded names.
type Header struct {
	Names []string // folded with Norm
}

// NewHeader folds a header record.
func NewHeader(fields [][]byte) Header {
	h := Header{Names: make([]string, len(fields))}
	for i, f := range fields {
		h.Names[i] = Norm(f)
	}
	return h
}

// Index returns the column of the first alias (already folded) present in
// the header, or -1.
func (h Header) Index(aliases ...string) int {
	for _, a := range aliases {
		for i, n := range h.Names {
			if n == a {
				return i
			}
		}
	}
	return -1
}

// Has reports whether any alias is present.
func (h Header) Has(aliases ...string) bool { return h.Index(aliases...) >= 0 }

// HeadHeader reads the header row from the start of an input (for Sniff).
func HeadHeader(head []byte) (Header, bool) {
	r := NewReader(bytes.NewReader(head))
	fields, _, err := r.Read()
	if err != nil || len(fields) < 2 {
		return Header{}, false
	}
	return NewHeader(fields), true
}

// Field returns fields[i], or nil when i is out of range (column absent).
func Field(fields [][]byte, i int) []byte {
	if i < 0 || i >= len(fields) {
		return nil
	}
	return bytes.TrimSpace(fields[i])
}

// RowFunc turns one data record into an Item. ok false skips the record
// silently (a row that is not software); an error reports it as malformed.
type RowFunc func(fields [][]byte, line int) (it inventory.Item, ok bool, err error)

// Scan reads a CSV export: the first record is the header, which header
// checks and turns into a RowFunc (an error there is fatal: no row can be
// read without its columns). Each data record with the header's number of
// fields goes to the RowFunc; Scan sets the Item's Source. Malformed records
// are visited as *inventory.ParseError and skipped.
func Scan(ctx context.Context, rd io.Reader, name string, format inventory.Format, in *inventory.Interner,
	visit inventory.Visit, header func(Header) (RowFunc, error)) error {
	r := NewReader(rd)
	var (
		row   RowFunc
		width int
		n     int
	)
	for {
		fields, line, err := r.Read()
		if err != nil {
			if err == io.EOF {
				if row == nil {
					return fmt.Errorf("inventory: %s: %s: no header row", format, name)
				}
				return nil
			}
			if se := (*SyntaxError)(nil); errors.As(err, &se) {
				if verr := visit(inventory.Item{}, &inventory.ParseError{Format: format, File: name, Line: se.Line, Err: se}); verr != nil {
					return verr
				}
				continue
			}
			return fmt.Errorf("inventory: %s: %s: line %d: %w", format, name, r.line, err)
		}
		if row == nil {
			h := NewHeader(fields)
			if row, err = header(h); err != nil {
				return fmt.Errorf("inventory: %s: %s:%d: header: %w", format, name, line, err)
			}
			width = len(fields)
			continue
		}
		if n++; n%inventory.CheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var (
			it inventory.Item
			ok bool
		)
		if len(fields) != width {
			err = fmt.Errorf("record has %d fields, header has %d", len(fields), width)
			r.RetryLast()
		} else {
			it, ok, err = row(fields, line)
		}
		if err != nil {
			if verr := visit(inventory.Item{}, &inventory.ParseError{Format: format, File: name, Line: line, Err: err}); verr != nil {
				return verr
			}
			continue
		}
		if !ok {
			continue
		}
		it.Source = in.Source(name, line)
		if verr := visit(it, nil); verr != nil {
			return verr
		}
	}
}
