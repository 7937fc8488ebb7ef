package querylog

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// Memory is a sink that keeps every entry, for the tests.
type Memory struct {
	mu      sync.Mutex
	entries []Entry
}

// Write appends the batch.
func (m *Memory) Write(batch []Entry) error {
	m.mu.Lock()
	m.entries = append(m.entries, batch...)
	m.mu.Unlock()
	return nil
}

// Close does nothing.
func (m *Memory) Close() error { return nil }

// Entries is a copy of what was written.
func (m *Memory) Entries() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

var t0 = time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)

func entry(i int, name, verdict string) *Entry {
	e := &Entry{Time: t0.Add(time.Duration(i) * time.Second), Client: netip.MustParseAddr("10.0.0.7"), Proto: "udp",
		Type: 1, RCode: 3, Verdict: verdict, Rule: "tiktok-ban", Entity: "tiktok-pte", Reason: "qname",
		Deadline: time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC), Latency: 120 * time.Microsecond}
	e.SetName([]byte(name))
	return e
}

func TestLoggerDeliversInOrder(t *testing.T) {
	mem := &Memory{}
	cfg := DefaultConfig()
	cfg.Batch, cfg.Buffer = 7, 100
	l := New(cfg, nil, mem)
	l.Start(context.Background())
	for i := 0; i < 50; i++ {
		l.Log(entry(i, "www.tiktok.com", "block"))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := mem.Entries()
	if len(got) != 50 {
		t.Fatalf("%d entries written, want 50", len(got))
	}
	for i, e := range got {
		if !e.Time.Equal(t0.Add(time.Duration(i)*time.Second)) || e.Name() != "www.tiktok.com" {
			t.Fatalf("entry %d = %v %q", i, e.Time, e.Name())
		}
	}
	if c := l.Counters(); c.Logged != 50 || c.Written != 50 || c.Shed != 0 {
		t.Errorf("counters = %+v", c)
	}
}

// slowSink blocks until released, to fill the logger's buffer.
type slowSink struct {
	Memory
	release chan struct{}
}

func (s *slowSink) Write(b []Entry) error {
	<-s.release
	return s.Memory.Write(b)
}

func TestShedIsCountedAndLogged(t *testing.T) {
	sink := &slowSink{release: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.Buffer, cfg.Batch, cfg.Overflow = 10, 5, Shed
	l := New(cfg, nil, sink)
	l.Start(context.Background())
	for i := 0; i < 100; i++ {
		l.Log(entry(i, "a.example", "allow"))
	}
	close(sink.release)
	l.Close()
	c := l.Counters()
	if c.Shed == 0 || c.Logged+c.Shed != 100 {
		t.Fatalf("counters = %+v: logged and shed must add up to 100", c)
	}
	var shedInLog uint64
	n := 0
	for _, e := range sink.Entries() {
		if e.Shed > 0 {
			shedInLog += e.Shed
		} else {
			n++
		}
	}
	if shedInLog != c.Shed || uint64(n) != c.Logged {
		t.Errorf("log holds %d entries and says %d shed; counters %+v", n, shedInLog, c)
	}
	if c.Written != c.Logged {
		t.Errorf("written %d, logged %d: shed records are not written queries", c.Written, c.Logged)
	}
}

func TestBlockAppliesBackpressure(t *testing.T) {
	sink := &slowSink{release: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.Buffer, cfg.Batch, cfg.Overflow = 4, 2, Block
	l := New(cfg, nil, sink)
	l.Start(context.Background())
	done := make(chan struct{})
	go func() {
		for i := 0; i < 40; i++ {
			l.Log(entry(i, "a.example", "allow"))
		}
		close(done)
	}()
	close(sink.release)
	<-done
	l.Close()
	if c := l.Counters(); c.Shed != 0 || c.Written != 40 || len(sink.Entries()) != 40 {
		t.Errorf("counters %+v, %d written", c, len(sink.Entries()))
	}
}

func TestLogDoesNotAllocate(t *testing.T) {
	l := New(DefaultConfig(), nil, &Memory{})
	e := entry(0, "www.example.com", "allow")
	if n := testing.AllocsPerRun(1000, func() { l.Log(e) }); n != 0 {
		t.Errorf("Log allocates %v times", n)
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(dir, "q.jsonl")
	j, err := OpenJSONL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	odd := entry(1, "we\"ird\x01.\xffname", "allow")
	if err := j.Write([]Entry{*entry(0, "www.tiktok.com", "block"), *odd, {Time: t0, Shed: 3}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	f, _ := os.Open(cfg.Path)
	defer f.Close()
	var recs []Record
	bad, err := Read(f, func(r *Record) error { recs = append(recs, *r); return nil })
	if err != nil || bad != 0 || len(recs) != 3 {
		t.Fatalf("read %d records, %d bad, %v", len(recs), bad, err)
	}
	want := Record{Time: t0, Client: "10.0.0.7", Proto: "udp", Name: "www.tiktok.com", Type: "A", RCode: "NXDOMAIN",
		Verdict: "block", Rule: "tiktok-ban", Entity: "tiktok-pte", Reason: "qname", Deadline: "2026-01-19T00:00:00Z", LatencyUS: 120}
	if diff := cmp.Diff(want, recs[0]); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if recs[1].Name != "we\"ird\x01.\u00ffname" || recs[2].Shed != 3 {
		t.Errorf("odd name %q, shed %d", recs[1].Name, recs[2].Shed)
	}
}

func TestJSONLRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(dir, "q.jsonl")
	cfg.MaxSize, cfg.MaxFiles = 1000, 2
	j, err := OpenJSONL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	j.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := 0; i < 100; i++ {
		if err := j.Write([]Entry{*entry(i, "www.example.com", "allow")}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	rot := Rotated(cfg.Path)
	if len(rot) != 2 {
		t.Fatalf("rotated files %v, want 2 kept", rot)
	}
	for _, p := range append(rot, cfg.Path) {
		if st, err := os.Stat(p); err != nil || st.Size() > cfg.MaxSize+300 {
			t.Errorf("%s: %v %v", p, st.Size(), err)
		}
	}
}

func TestStats(t *testing.T) {
	var log bytes.Buffer
	write := func(client string, i int, name, verdict, rule string) {
		e := entry(i, name, verdict)
		e.Client = netip.MustParseAddr(client)
		e.Rule = rule
		log.Write(AppendJSON(nil, e))
		log.WriteByte('\n')
	}
	write("10.0.0.1", 0, "www.tiktok.com", "due", "tiktok-ban")
	write("10.0.0.1", 10, "v16.tiktokcdn.com", "block", "tiktok-ban")
	write("10.0.0.2", 5, "www.tiktok.com", "due", "tiktok-ban")
	write("10.0.0.2", 6, "example.org", "allow", "")
	write("10.0.0.3", 7, "acme.example", "monitor", "watch")
	log.WriteString("{\"time\":\"2026-01-20T10:00:09Z\",\"shed\":4}\n{\"time\":\"2026-01-2")
	var s Stats
	bad, err := Read(&log, func(r *Record) error { s.Add(r); return nil })
	if err != nil || bad != 1 {
		t.Fatalf("bad %d err %v", bad, err)
	}
	got := s.Askers()
	if len(got) != 3 || s.Shed != 4 || s.Queries != 5 {
		t.Fatalf("askers %d, shed %d, queries %d", len(got), s.Shed, s.Queries)
	}
	first := got[0]
	if first.Client != "10.0.0.1" || !first.AfterDeadline() || first.Due != 1 || first.Blocked != 1 ||
		!first.First.Equal(t0) || !first.LastBlock.Equal(t0.Add(10*time.Second)) ||
		strings.Join(first.Names, ",") != "www.tiktok.com,v16.tiktokcdn.com" {
		t.Errorf("first asker = %+v", first)
	}
	if got[1].AfterDeadline() || got[1].Client != "10.0.0.3" {
		t.Errorf("second asker = %+v", got[1])
	}
}

func FuzzRead(f *testing.F) {
	f.Add(AppendJSON(nil, entry(0, "www.tiktok.com", "block")))
	f.Add([]byte("{\"time\":\"2026-01-20T10:00:09Z\",\"shed\":4}\n{}\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Stats
		Read(bytes.NewReader(b), func(r *Record) error { s.Add(r); return nil })
		s.Askers()
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := entry(0, "www.tiktok.com", "block")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], e)
	}
}

func TestAppendTimeMatchesAppendFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 21, 8, 15, 20, 900744123, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 5*3600+1800)),
		time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	} {
		want := tm.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000000Z07:00")
		if got := appendTime([]byte("x"), tm); string(got) != "x"+string(want) {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got[1:], want)
		}
		want = tm.UTC().AppendFormat(nil, time.RFC3339)
		if got := appendTimeSec([]byte("x"), tm); string(got) != "x"+string(want) {
			t.Errorf("appendTimeSec(%v) = %s, want %s", tm, got[1:], want)
		}
	}
}

// BenchmarkLogToJSONL is the query log's whole cost per query: Log from
// the resolver's goroutine, then the writer's batching, JSON and file
// writes (to a temporary file), until Close has flushed everything.
func BenchmarkLogToJSONL(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(b.TempDir(), "q.jsonl")
	cfg.Overflow = Block
	j, err := OpenJSONL(cfg)
	if err != nil {
		b.Fatal(err)
	}
	l := New(cfg, nil, j)
	l.Start(context.Background())
	e := entry(1, "h1.bench.test", "allow")
	b.ReportAllocs()
	for b.Loop() {
		l.Log(e)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if c := l.Counters(); c.Written != c.Logged || c.Shed != 0 {
		b.Fatalf("counters %+v", c)
	}
}

// TestCopyToCopiesEveryField guards copyTo against a field added to Entry
// and forgotten there: every exported field is set, and must arrive.
func TestCopyToCopiesEveryField(t *testing.T) {
	var src Entry
	v := reflect.ValueOf(&src).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint16, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Int64: // time.Duration
			f.SetInt(int64(i + 1))
		default:
			switch f.Interface().(type) {
			case time.Time:
				f.Set(reflect.ValueOf(t0.Add(time.Duration(i) * time.Hour)))
			case netip.Addr:
				f.Set(reflect.ValueOf(netip.MustParseAddr("192.0.2.9")))
			default:
				t.Fatalf("field %s of kind %s: teach this test to set it", v.Type().Field(i).Name, f.Kind())
			}
		}
	}
	src.SetName([]byte("short.example"))
	dst := *entry(3, "a-much-longer-name-than-the-other.example", "block")
	src.copyTo(&dst)
	dst.name, src.name = [255]byte{}, [255]byte{} // bytes past the length are not part of the entry
	copy(dst.name[:], "short.example")
	copy(src.name[:], "short.example")
	if !reflect.DeepEqual(dst, src) {
		t.Errorf("copyTo lost fields:\n got %+v\nwant %+v", dst, src)
	}
	if dst.Name() != "short.example" {
		t.Errorf("name %q", dst.Name())
	}
	// Reset empties every field (the name by its length).
	src.Reset()
	src.name = [255]byte{}
	if !reflect.DeepEqual(src, Entry{}) {
		t.Errorf("Reset left %+v", src)
	}
}

func TestTypeAndRcodeNames(t *testing.T) {
	for _, c := range []struct {
		typ, rcode uint16
		want       string
	}{
		{1, 0, `"type":"A","rcode":"NOERROR"`},
		{65, 3, `"type":"HTTPS","rcode":"NXDOMAIN"`},
		{28, 5, `"type":"AAAA","rcode":"REFUSED"`},
		{32769, 23, `"type":"DLV","rcode":"BADCOOKIE"`},
		{65000, 4000, `"type":"TYPE65000","rcode":4000`},
	} {
		e := entry(0, "a.example", "allow")
		e.Type, e.RCode = c.typ, c.rcode
		if got := string(AppendJSON(nil, e)); !strings.Contains(got, c.want) {
			t.Errorf("type %d rcode %d: %s, want %s in it", c.typ, c.rcode, got, c.want)
		}
	}
}

// refAppendString is appendString one byte at a time, as it was written
// first: the fuzz target holds the faster one to the same output.
func refAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				b = append(b, s[i:i+size]...)
				i += size
				continue
			}
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
	}
	return append(b, '"')
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "www.tiktok.com", "a\"b\\c", "\x00\x1f\x7f", "ünïcødé.example", "\xff\xfe bad", "\xe2\x82", "tab\there"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := appendString([]byte("x"), s), refAppendString([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, got[1:], err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendString(%q) reads back as %q", s, back)
		}
	})
}

// FuzzWireName: a name logged from its wire form is written as JSON that
// reads back, and its presentation form parses (miekg/dns) to the same
// wire name, lowercased: the labels [www.tiktok][com] can never be logged
// as www.tiktok.com.
func FuzzWireName(f *testing.F) {
	for _, n := range []string{"\x0awww.tiktok\x03com\x00", "\x03www\x06tiktok\x03com\x00", "\x03a\x00b\x01\\\x00", "\x02A \x01\xff\x01\"\x00", "\x00"} {
		f.Add([]byte(n))
	}
	f.Fuzz(func(t *testing.T, w []byte) {
		// Well-formed wire names only, as the resolver's parser passes them.
		end := 0
		for end < len(w) && w[end] != 0 {
			if w[end]&0xC0 != 0 {
				return
			}
			end += 1 + int(w[end])
		}
		if end >= len(w) || end+1 > 255 {
			return
		}
		w = w[:end+1]
		e := entry(0, "", "allow")
		e.SetWireName(w)
		line := AppendJSON(nil, e)
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("%q: not JSON: %s: %v", w, line, err)
		}
		if rec.Name != e.Name() {
			t.Fatalf("%q: JSON name %q, Name() %q", w, rec.Name, e.Name())
		}
		back := make([]byte, 512)
		n, err := dns.PackDomainName(rec.Name+".", back, 0, nil, false)
		if err != nil {
			t.Fatalf("%q logged as %q, which does not parse: %v", w, rec.Name, err)
		}
		want := make([]byte, len(w)) // ASCII only: bytes.ToLower rewrites invalid UTF-8
		for i, c := range w {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			want[i] = c
		}
		if !bytes.Equal(back[:n], want) {
			t.Fatalf("%q logged as %q, which reads back as %q", w, rec.Name, back[:n])
		}
	})
}

func TestWireNameIsUnambiguous(t *testing.T) {
	dotted, plain := entry(0, "", "allow"), entry(1, "www.tiktok.com", "block")
	dotted.SetWireName([]byte("\x0awww.tiktok\x03com\x00"))
	var d, p Record
	if err := json.Unmarshal(AppendJSON(nil, dotted), &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(AppendJSON(nil, plain), &p); err != nil {
		t.Fatal(err)
	}
	if d.Name != `www\.tiktok.com` || p.Name != "www.tiktok.com" {
		t.Errorf("names %q and %q", d.Name, p.Name)
	}
	var c Entry
	dotted.copyTo(&c)
	if c.Name() != `www\.tiktok.com` {
		t.Errorf("copied entry's name %q", c.Name())
	}
	c.Reset()
	c.SetName([]byte("a.example"))
	if c.Name() != "a.example" {
		t.Errorf("after Reset and SetName: %q", c.Name())
	}
}
