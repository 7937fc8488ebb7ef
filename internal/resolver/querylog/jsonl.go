package querylog

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// JSONL writes one JSON object per entry and line to a file, rotating it
// by size into PATH.YYYYMMDDTHHMMSSZ and removing rotated files beyond the
// count and age bounds.
type JSONL struct {
	cfg  Config
	f    *os.File
	w    *bufio.Writer
	size int64
	buf  []byte
	now  func() time.Time
}

// OpenJSONL opens (appends to) the file cfg.Path.
func OpenJSONL(cfg Config) (*JSONL, error) {
	j := &JSONL{cfg: cfg, now: time.Now}
	if err := j.open(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *JSONL) open() error {
	if err := os.MkdirAll(filepath.Dir(j.cfg.Path), 0o755); err != nil {
		return fmt.Errorf("query log: %w", err)
	}
	f, err := os.OpenFile(j.cfg.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("query log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("query log: %w", err)
	}
	j.f, j.size = f, st.Size()
	j.w = bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Write appends the batch and flushes it to the file.
func (j *JSONL) Write(batch []Entry) error {
	for i := range batch {
		j.buf = AppendJSON(j.buf[:0], &batch[i])
		j.buf = append(j.buf, '\n')
		if _, err := j.w.Write(j.buf); err != nil {
			return fmt.Errorf("query log: %s: %w", j.cfg.Path, err)
		}
		j.size += int64(len(j.buf))
		if j.cfg.MaxSize > 0 && j.size >= j.cfg.MaxSize {
			if err := j.rotate(); err != nil {
				return err
			}
		}
	}
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("query log: %s: %w", j.cfg.Path, err)
	}
	return nil
}

func (j *JSONL) rotate() error {
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("query log: %s: %w", j.cfg.Path, err)
	}
	j.f.Close()
	stamp := j.now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(j.cfg.Path, j.cfg.Path+"."+stamp); err != nil {
		return fmt.Errorf("query log: rotate: %w", err)
	}
	j.prune()
	return j.open()
}

// Rotated lists the rotated files of path, oldest first.
func Rotated(path string) []string {
	m, _ := filepath.Glob(path + ".2*")
	sort.Strings(m)
	return m
}

func (j *JSONL) prune() {
	old := Rotated(j.cfg.Path)
	for i, p := range old {
		drop := j.cfg.MaxFiles > 0 && len(old)-i > j.cfg.MaxFiles
		if !drop && j.cfg.MaxAge > 0 {
			if st, err := os.Stat(p); err == nil && j.now().Sub(st.ModTime()) > j.cfg.MaxAge {
				drop = true
			}
		}
		if drop {
			os.Remove(p)
		}
	}
}

// Close flushes and closes the file.
func (j *JSONL) Close() error {
	if j.f == nil {
		return nil
	}
	err := j.w.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}

// AppendJSON appends an entry as one JSON object.
func AppendJSON(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = appendTime(b, e.Time)
	b = append(b, '"')
	if e.Shed > 0 {
		b = append(b, `,"shed":`...)
		b = strconv.AppendUint(b, e.Shed, 10)
		return append(b, '}')
	}
	b = append(b, `,"client":"`...)
	if e.Client.IsValid() {
		b = e.Client.AppendTo(b)
	}
	b = append(b, `","proto":`...)
	b = appendString(b, e.Proto)
	if e.Group != "" {
		b = append(b, `,"group":`...)
		b = appendString(b, e.Group)
	}
	b = append(b, `,"name":`...)
	if e.isWire {
		var pres [4 * 255]byte // every byte escaped as \DDD at most
		b = appendString(b, string(e.AppendName(pres[:0])))
	} else {
		b = appendString(b, string(e.NameBytes()))
	}
	b = append(b, `,"type":`...)
	if int(e.Type) < len(typeJSON) && typeJSON[e.Type] != "" {
		b = append(b, typeJSON[e.Type]...)
	} else if s, ok := dns.TypeToString[e.Type]; ok {
		b = appendString(b, s)
	} else {
		b = append(b, `"TYPE`...)
		b = strconv.AppendUint(b, uint64(e.Type), 10)
		b = append(b, '"')
	}
	b = append(b, `,"rcode":`...)
	if int(e.RCode) < len(rcodeJSON) && rcodeJSON[e.RCode] != "" {
		b = append(b, rcodeJSON[e.RCode]...)
	} else if s, ok := dns.RcodeToString[int(e.RCode)]; ok {
		b = appendString(b, s)
	} else {
		b = strconv.AppendUint(b, uint64(e.RCode), 10)
	}
	if e.Verdict != "" {
		b = append(b, `,"verdict":`...)
		b = appendString(b, e.Verdict)
	}
	if e.Rule != "" {
		b = append(b, `,"rule":`...)
		b = appendString(b, e.Rule)
	}
	if e.Entity != "" {
		b = append(b, `,"entity":`...)
		b = appendString(b, e.Entity)
	}
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, e.Reason)
	}
	if !e.Deadline.IsZero() {
		b = append(b, `,"deadline":"`...)
		b = appendTimeSec(b, e.Deadline)
		b = append(b, '"')
	}
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, e.Latency.Microseconds(), 10)
	if e.Cached {
		b = append(b, `,"cached":true`...)
	}
	if e.Stale {
		b = append(b, `,"stale":true`...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string; bytes that are not valid UTF-8 (a
// DNS label may hold any byte) are written as \u00XX.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is plain and not yet appended
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF]) // a byte of invalid UTF-8
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainJSON says which ASCII bytes go into a JSON string as they are.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// typeJSON and rcodeJSON are the quoted names of the common query types
// and answer codes, so that an entry does not look them up in a map.
var typeJSON, rcodeJSON = func() (t [256]string, r [24]string) {
	for v, name := range dns.TypeToString {
		if int(v) < len(t) {
			t[v] = string(appendString(nil, name))
		}
	}
	for v, name := range dns.RcodeToString {
		if v >= 0 && v < len(r) {
			r[v] = string(appendString(nil, name))
		}
	}
	return t, r
}()

// appendTime appends t in UTC as 2006-01-02T15:04:05.000000Z, what
// AppendFormat with that layout writes, in a quarter of its time: the
// log writer formats one a query.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y := t.Year()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	b = appendDateTime(b, t)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendTimeSec appends t in UTC as RFC 3339 to the second.
func appendTimeSec(b []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339)
	}
	return append(appendDateTime(b, t), 'Z')
}

// appendDateTime appends 2006-01-02T15:04:05 (a year of four digits).
func appendDateTime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	return appendDigits(b, sec, 2)
}

// appendDigits appends v (not negative) as exactly n decimal digits, n
// even and at most 6, two at a time.
func appendDigits(b []byte, v, n int) []byte {
	switch n {
	case 6:
		b = append2(b, v/10000%100)
		fallthrough
	case 4:
		b = append2(b, v/100%100)
	}
	return append2(b, v%100)
}

func append2(b []byte, v int) []byte {
	return append(b, digitPairs[2*v], digitPairs[2*v+1])
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"
