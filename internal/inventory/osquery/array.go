package osquery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// array reads osqueryi --json output: "[", row objects separated by commas
// (usually one per line), "]". Each row object is cut out of the stream by
// brace matching and parsed on its own, so a malformed row costs only
// itself.
func (lp *lineParser) array(ctx context.Context, br *bufio.Reader, visit inventory.Visit) error {
	br.ReadByte() // '['
	cur := lp.line + 1
	var obj []byte
	for n := 0; ; n++ {
		if n%inventory.CheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c, err := br.ReadByte()
		if err == io.EOF {
			return visit(inventory.Item{}, lp.perr(cur, errors.New("JSON array not closed")))
		}
		if err != nil {
			return fmt.Errorf("inventory: osquery: %s: line %d: %w", lp.name, cur, err)
		}
		switch c {
		case '\n':
			cur++
		case ' ', '\t', '\r', ',':
		case ']':
			return lp.trailer(br, cur, visit)
		case '{':
			start := cur
			obj, cur, err = collect(br, append(obj[:0], '{'), cur)
			if err != nil && !errors.Is(err, errLong) {
				if err == io.EOF {
					return visit(inventory.Item{}, lp.perr(start, errors.New("row object not closed at end of input")))
				}
				return fmt.Errorf("inventory: osquery: %s: line %d: %w", lp.name, cur, err)
			}
			if err == nil {
				err = lp.parseRow(obj)
			}
			if err != nil {
				if verr := visit(inventory.Item{}, lp.perr(start, err)); verr != nil {
					return verr
				}
				continue
			}
			if err := lp.emit(start, visit); err != nil {
				return err
			}
		default:
			if verr := visit(inventory.Item{}, lp.perr(cur, fmt.Errorf("unexpected %q in JSON array", c))); verr != nil {
				return verr
			}
			// Resynchronise at the next line.
			if _, err := br.ReadSlice('\n'); err == nil {
				cur++
			}
		}
	}
}

// collect appends the rest of a JSON object (the '{' already in buf) up to
// its matching '}', counting lines.
func collect(br *bufio.Reader, buf []byte, line int) ([]byte, int, error) {
	var j inventory.JSONDepth
	j.Step('{')
	var tooLong error
	for {
		c, err := br.ReadByte()
		if err != nil {
			return buf, line, err
		}
		if len(buf) < MaxLine {
			buf = append(buf, c)
		} else {
			tooLong = errLong
		}
		if c == '\n' {
			line++
		}
		if j.Step(c) {
			return buf, line, tooLong
		}
	}
}

// parseRow fills lp.ev with a single row object.
func (lp *lineParser) parseRow(b []byte) error {
	s, ev := &lp.s, &lp.ev
	s.reset(b)
	ev.reset()
	var err error
	if ev.kvs, err = s.flat(1, ev.kvs); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	ev.hasRows = true
	ev.rows = append(ev.rows, rowRef{start: 0, end: len(ev.kvs)})
	return nil
}

// trailer checks that only blanks follow the closing bracket.
func (lp *lineParser) trailer(br *bufio.Reader, line int, visit inventory.Visit) error {
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inventory: osquery: %s: line %d: %w", lp.name, line, err)
		}
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r':
		default:
			return visit(inventory.Item{}, lp.perr(line, errors.New("data after the JSON array")))
		}
	}
}
