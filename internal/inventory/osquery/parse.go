// Package osquery reads software inventory from osquery: the output of
// `osqueryi --json` (a JSON array of rows) and the result log of osqueryd or
// Fleet (JSON lines of snapshot, differential or batched events), for the
// tables apps, programs, deb_packages, rpm_packages, chrome_extensions and
// firefox_addons. Follow tails a growing result log.
//
// It must never import another format's package; only the inventory model.
package osquery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Parser reads osquery JSON.
type Parser struct{}

var _ inventory.Parser = Parser{}

// Format implements inventory.Parser.
func (Parser) Format() inventory.Format { return inventory.FormatOsquery }

// MaxLine is the longest JSON line (or array element) accepted; a snapshot
// of a few thousand rows fits many times over.
const MaxLine = 64 << 20

// Sniff implements inventory.Parser.
func (Parser) Sniff(head []byte) int {
	body, query := skipHeaders(head)
	switch {
	case len(body) == 0:
		return 0
	case body[0] == '{':
		line := body
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		for _, k := range []string{`"hostIdentifier"`, `"snapshot"`, `"diffResults"`, `"calendarTime"`} {
			if bytes.Contains(line, []byte(k)) {
				return 95
			}
		}
		if bytes.Contains(line, []byte(`"columns"`)) && bytes.Contains(line, []byte(`"action"`)) {
			return 90
		}
		if bytes.Contains(line, []byte(`"rows"`)) && bytes.Contains(line, []byte(`"host"`)) {
			return 80 // fleetctl query
		}
	case body[0] == '[':
		// An array of rows: osquery column names are lower_snake_case.
		var s scanner
		s.reset(body[1:])
		if s.peek() != '{' {
			return 0
		}
		row, _ := s.flat(1, nil) // a row cut by the end of head still has its first columns
		if detect(row, query) != tableUnknown {
			return 90
		}
	}
	return 0
}

// skipHeaders drops leading blank and "#" lines, returning the rest and the
// value of a "# table:" header.
func skipHeaders(b []byte) (rest, query []byte) {
	for {
		b = bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
		if len(b) == 0 || b[0] != '#' {
			return b, query
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil, query
		}
		if k, v, ok := inventory.HeaderLine(b[:i]); ok && (k == "table" || k == "query") {
			query = []byte(v)
		}
		b = b[i+1:]
	}
}

// Parse implements inventory.Parser. A JSON array is read as osqueryi
// output; anything else as a result log, one JSON object per line. Leading
// "# device: ..." lines (see inventory.Meta) and the file name supply the
// device of rows that carry none.
func (Parser) Parse(ctx context.Context, r io.Reader, name string, visit inventory.Visit) error {
	br := bufio.NewReaderSize(r, 256<<10)
	lp := newLineParser(name)
	// Header lines and the first value's opening byte.
	for {
		c, err := peekByte(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inventory: osquery: %s: %w", name, err)
		}
		if c == '\n' {
			br.Discard(1)
			lp.line++
			continue
		}
		if c != '#' {
			if c == '[' {
				return lp.array(ctx, br, visit)
			}
			return lp.lines(ctx, br, visit)
		}
		line, err := readLine(br, MaxLine, &lp.long)
		lp.line++
		if err != nil && err != io.EOF {
			return fmt.Errorf("inventory: osquery: %s: %w", name, err)
		}
		if err := lp.header(line, lp.line, visit); err != nil {
			return err
		}
	}
}

// header applies a "# key: value" line: the inventory.Meta keys, and
// "table" (or "query") naming the osquery table of rows whose columns do not
// say it.
func (lp *lineParser) header(line []byte, lineNo int, visit inventory.Visit) error {
	k, v, ok := inventory.HeaderLine(line)
	if !ok {
		return nil
	}
	if k == "table" || k == "query" {
		lp.query = []byte(v)
		return nil
	}
	if err := lp.meta.Set(k, v); err != nil {
		return visit(inventory.Item{}, lp.perr(lineNo, err))
	}
	return nil
}

// peekByte returns the next byte that is not a blank, a carriage return or
// a byte-order mark, consuming those.
func peekByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r':
			br.Discard(1)
		case 0xef: // BOM
			if bom, err := br.Peek(3); err == nil && string(bom) == "\xef\xbb\xbf" {
				br.Discard(3)
				continue
			}
			return b[0], nil
		default:
			return b[0], nil
		}
	}
}

// readLine returns the next line without its ending, valid until the next
// call. Lines longer than max are consumed and returned cut short with
// errLong.
func readLine(br *bufio.Reader, max int, long *[]byte) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*long = append((*long)[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = br.ReadSlice('\n')
			if len(*long) <= max {
				*long = append(*long, b...)
			}
		}
		b = *long
		if len(b) > max {
			if err == nil || err == io.EOF {
				err = errLong
			}
		}
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if err == io.EOF {
		err = nil
	}
	return b, err
}

var errLong = fmt.Errorf("line longer than %d bytes", MaxLine)

// lineParser holds the state for one input: positions, header metadata,
// interned strings and reused buffers.
type lineParser struct {
	name  string
	line  int
	meta  inventory.Meta
	query []byte // from a "# table:" header
	in    *inventory.Interner
	s     scanner
	long  []byte
	ev    event
	buf   []byte
	n     int
}

func newLineParser(name string) *lineParser {
	return &lineParser{name: name, in: inventory.NewInterner(0)}
}

func (lp *lineParser) perr(line int, err error) error {
	return &inventory.ParseError{Format: inventory.FormatOsquery, File: lp.name, Line: line, Err: err}
}

// rowRef is one row of an event: a span of ev.kvs.
type rowRef struct {
	start, end int
	removed    bool
	fromCols   bool // a differential "columns" row: removed follows the event's action
}

// event is one parsed log line.
type event struct {
	name, host, calendar, action, unix []byte
	decor                              []kv
	kvs                                []kv
	rows                               []rowRef
	hasRows                            bool
}

func (ev *event) reset() {
	*ev = event{decor: ev.decor[:0], kvs: ev.kvs[:0], rows: ev.rows[:0]}
}

// lines reads a result log.
func (lp *lineParser) lines(ctx context.Context, br *bufio.Reader, visit inventory.Visit) error {
	for {
		line, err := readLine(br, MaxLine, &lp.long)
		if err == io.EOF {
			return nil
		}
		lp.line++
		if err == errLong {
			if verr := visit(inventory.Item{}, lp.perr(lp.line, err)); verr != nil {
				return verr
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("inventory: osquery: %s: line %d: %w", lp.name, lp.line, err)
		}
		if lp.n++; lp.n%inventory.CheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := lp.handleLine(line, lp.line, visit); err != nil {
			return err
		}
	}
}

// handleLine parses one log line and visits its items or its error. It
// returns only visit's error.
func (lp *lineParser) handleLine(line []byte, lineNo int, visit inventory.Visit) error {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] == '#' {
		return lp.header(trimmed, lineNo, visit)
	}
	if err := lp.parseEvent(trimmed); err != nil {
		return visit(inventory.Item{}, lp.perr(lineNo, err))
	}
	return lp.emit(lineNo, visit)
}

// parseEvent fills lp.ev from one JSON object.
func (lp *lineParser) parseEvent(b []byte) error {
	s, ev := &lp.s, &lp.ev
	s.reset(b)
	ev.reset()
	rowsArray := func(removed bool) error {
		ev.hasRows = true
		return s.array(2, func() error {
			start := len(ev.kvs)
			var err error
			if ev.kvs, err = s.flat(3, ev.kvs); err != nil {
				return err
			}
			ev.rows = append(ev.rows, rowRef{start: start, end: len(ev.kvs), removed: removed})
			return nil
		})
	}
	err := s.object(1, func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			ev.name, err = lp.scalar()
		case "hostIdentifier", "host":
			ev.host, err = lp.scalar()
		case "calendarTime":
			ev.calendar, err = lp.scalar()
		case "unixTime":
			ev.unix, err = lp.scalar()
		case "action":
			ev.action, err = lp.scalar()
		case "decorations":
			if s.peek() != '{' {
				return s.skip(2)
			}
			ev.decor, err = s.flat(2, ev.decor)
		case "columns":
			if s.peek() != '{' {
				return s.skip(2)
			}
			ev.hasRows = true
			start := len(ev.kvs)
			if ev.kvs, err = s.flat(2, ev.kvs); err == nil {
				ev.rows = append(ev.rows, rowRef{start: start, end: len(ev.kvs), fromCols: true})
			}
		case "snapshot", "rows":
			if s.peek() != '[' {
				return s.skip(2)
			}
			err = rowsArray(false)
		case "diffResults":
			if s.peek() != '{' {
				return s.skip(2)
			}
			ev.hasRows = true
			err = s.object(2, func(k []byte) error {
				if s.peek() != '[' {
					return s.skip(3)
				}
				switch string(k) {
				case "added":
					return rowsArray(false)
				case "removed":
					return rowsArray(true)
				}
				return s.skip(3)
			})
		default:
			err = s.skip(2)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	removed := string(ev.action) == "removed"
	for i := range ev.rows {
		if ev.rows[i].fromCols {
			ev.rows[i].removed = removed
		}
	}
	return nil
}

var errNotScalar = errors.New("want a string or number")

func (lp *lineParser) scalar() ([]byte, error) {
	v, isScalar, err := lp.s.scalar()
	if err == nil && !isScalar {
		err = errNotScalar
	}
	return v, err
}

// emit visits the items of lp.ev.
func (lp *lineParser) emit(lineNo int, visit inventory.Visit) error {
	ev := &lp.ev
	if !ev.hasRows {
		return nil // a status line or some other log record: not ours
	}
	if len(ev.rows) == 0 {
		return nil
	}
	base := inventory.Item{
		Device: lp.in.Bytes(ev.host),
		Seen:   lp.seen(),
		Source: lp.in.Source(lp.name, lineNo),
		Tags:   lp.meta.Tags,
	}
	if base.Device == "" {
		base.Device = lp.in.Bytes(first(ev.decor, "host_uuid", "hostname", "computer_name", "hardware_serial", "serial"))
	}
	if name := first(ev.decor, "hostname", "computer_name"); len(name) > 0 && string(name) != base.Device {
		base.DeviceName = lp.in.Bytes(name)
	}
	base.Owner = lp.in.Bytes(first(ev.decor, "username", "user", "email", "console_user", "logged_in_user", "owner"))
	if base.Owner == "" {
		base.Owner = lp.meta.Owner
	}
	if t := first(ev.decor, "tags", "groups"); len(t) > 0 {
		base.Tags = lp.in.Tags(t)
	}
	query := ev.name
	if len(query) == 0 {
		query = lp.query
	}
	tbl := detect(ev.kvs[ev.rows[0].start:ev.rows[0].end], query)
	if tbl == tableUnknown {
		return nil // another scheduled query in the same log
	}
	for _, rr := range ev.rows {
		row := ev.kvs[rr.start:rr.end]
		it := base
		it.Removed = rr.removed
		if it.Device == "" {
			it.Device = lp.in.Bytes(first(row, "host_identifier", "hostname", "computer_name", "hardware_serial"))
		}
		if it.Device == "" {
			it.Device = lp.meta.Device
		}
		if it.Device == "" {
			it.Device = lp.in.String(inventory.DeviceFromName(lp.name))
		}
		if u := first(row, "username", "user"); len(u) > 0 {
			it.Owner = lp.in.Bytes(u)
		}
		if err := lp.fill(&it, tbl, row); err != nil {
			if verr := visit(inventory.Item{}, lp.perr(lineNo, err)); verr != nil {
				return verr
			}
			continue
		}
		if it.Device == "" {
			if verr := visit(inventory.Item{}, lp.perr(lineNo, errNoDevice)); verr != nil {
				return verr
			}
			continue
		}
		if err := visit(it, nil); err != nil {
			return err
		}
	}
	return nil
}

var errNoDevice = errors.New("no device: no hostIdentifier, no host decoration, no '# device:' header and no file name")

// fill maps one row of table tbl onto it.
func (lp *lineParser) fill(it *inventory.Item, tbl table, row []kv) error {
	in := lp.in
	it.Platform = tablePlatform[tbl]
	it.Kind = tableKind[tbl]
	it.Name = in.Bytes(get(row, "name"))
	it.Version = in.Bytes(get(row, "version"))
	switch tbl {
	case tableApps:
		it.AppID = in.Bytes(get(row, "bundle_identifier"))
		if n := first(row, "display_name", "bundle_name"); len(n) > 0 {
			it.Name = in.Bytes(n)
		} else {
			it.Name = strings.TrimSuffix(it.Name, ".app")
		}
		it.Version = in.Bytes(first(row, "bundle_short_version", "bundle_version"))
	case tablePrograms:
		it.AppID = it.Name
		it.Publisher = in.Bytes(get(row, "publisher"))
	case tableDeb:
		it.AppID = it.Name
		it.Publisher = in.Bytes(get(row, "maintainer"))
	case tableRPM:
		it.AppID = it.Name
		it.Publisher = in.Bytes(get(row, "vendor"))
		if rel := get(row, "release"); len(rel) > 0 && it.Version != "" {
			lp.buf = append(append(append(lp.buf[:0], it.Version...), '-'), rel...)
			it.Version = in.Bytes(lp.buf)
		}
	case tableChrome:
		it.AppID = in.Bytes(first(row, "identifier", "referenced_identifier"))
		it.Publisher = in.Bytes(get(row, "author"))
		if it.Owner == "" {
			it.Owner = in.Bytes(get(row, "profile"))
		}
	case tableFirefox:
		it.AppID = in.Bytes(get(row, "identifier"))
		it.Publisher = in.Bytes(get(row, "creator"))
	}
	if it.AppID == "" && it.Name == "" {
		return fmt.Errorf("%s row without identifier or name", tbl)
	}
	return nil
}

// seen is the event's time: unixTime, else calendarTime, else the header's.
func (lp *lineParser) seen() time.Time {
	ev := &lp.ev
	if len(ev.unix) > 0 {
		if n, err := strconv.ParseInt(string(ev.unix), 10, 64); err == nil && n > 0 {
			return time.Unix(n, 0).UTC()
		}
	}
	if len(ev.calendar) > 0 {
		// "Tue Jan 10 20:48:51 2017 UTC"
		if t, err := time.Parse("Mon Jan _2 15:04:05 2006 MST", string(ev.calendar)); err == nil {
			return t.UTC()
		}
	}
	return lp.meta.Seen
}
