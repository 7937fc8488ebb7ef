package scan

import (
	"bufio"
	"context"
	"io"
	"os"
	"sort"

	"github.com/outflow-dev/outflow/internal/ingest"
	"github.com/outflow-dev/outflow/internal/ingest/eve"
	"github.com/outflow-dev/outflow/internal/ingest/zeek"
)

// Kind is what an input file holds.
type Kind int

// Input kinds, in the order a scan reads them: Zeek's name logs before its
// conn logs, so that each conversation finds its names.
const (
	KindCapture Kind = iota
	KindZeekNames
	KindEVE
	KindZeekConn
	KindUnknown
)

// Sniff tells an input's kind from its first bytes.
func Sniff(head []byte) Kind {
	switch {
	case len(head) >= 4 && (string(head[:4]) == "\x0a\x0d\x0d\x0a" || head[0] == 0xd4 || head[0] == 0xa1 || head[0] == 0x4d):
		return KindCapture
	case zeek.Sniff(head):
		if zeek.Kind(head) == 1 {
			return KindZeekConn
		}
		return KindZeekNames
	case eve.Sniff(head):
		return KindEVE
	}
	return KindUnknown
}

// OrderInputs sorts paths into reading order (captures and Zeek name logs
// first, Zeek conn logs last); standard input and unreadable files keep
// their place among captures, where reading them reports the error.
func OrderInputs(paths []string) []string {
	kinds := make(map[string]Kind, len(paths))
	for _, p := range paths {
		kinds[p] = KindCapture
		if p == "-" {
			continue
		}
		if f, err := os.Open(p); err == nil {
			head := make([]byte, 4096)
			n, _ := io.ReadFull(f, head)
			f.Close()
			if k := Sniff(head[:n]); k != KindUnknown {
				kinds[p] = k
			}
		}
	}
	out := append([]string(nil), paths...)
	sort.SliceStable(out, func(i, j int) bool { return kinds[out[i]] < kinds[out[j]] })
	return out
}

// ReadAny reads a capture, a Zeek log or a Suricata EVE log, told apart by
// content.
func (s *Scanner) ReadAny(ctx context.Context, path string) error {
	if path == "-" {
		return s.ReadFile(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		s.inputs = append(s.inputs, Input{Name: path, Error: err.Error()})
		return err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(4096)
	kind := Sniff(head)
	if kind == KindCapture || kind == KindUnknown {
		f.Close()
		return s.ReadFile(ctx, path)
	}
	defer f.Close()
	in := Input{Name: path}
	bad := func(err error) {
		if len(s.warns) < 200 {
			s.warns = append(s.warns, err.Error())
		}
	}
	sink := logSink{s}
	switch kind {
	case KindEVE:
		in.Link = "suricata-eve"
		if s.eve == nil {
			s.eve = eve.New()
		}
		before := s.eve.Lines
		err = s.eve.Read(path, br, sink, bad)
		in.Packets = int(s.eve.Lines - before)
	default:
		in.Link = "zeek"
		if s.zeek == nil {
			s.zeek = zeek.New()
		}
		before := s.zeek.Lines
		err = s.zeek.Read(path, br, sink, bad)
		in.Packets = int(s.zeek.Lines - before)
	}
	if st, e := f.Stat(); e == nil {
		in.Bytes = st.Size()
	}
	if err != nil {
		in.Error = err.Error()
	}
	s.inputs = append(s.inputs, in)
	return err
}

// logSink feeds log records into the scan: conversations straight to the
// aggregator, DNS answers into the tracker's DNS memory.
type logSink struct{ s *Scanner }

func (l logSink) DNS(d ingest.DNS) {
	l.s.tracker.LearnDNS(d.Client, d.Addr, d.Name, d.Query, d.TTL, d.At)
}

func (l logSink) Flow(r ingest.Flow) {
	s := l.s
	f := r.Record()
	f.Orient(s.tracker.IsLocal)
	f.DNSName, f.DNSQuery = s.tracker.DNSName(f.Device, f.Peer, r.Start)
	// logs with no DNS answers so far (a conn.log without its dns.log, or
	// before it) cannot show that a device skipped the resolver
	f.NoDNS = s.tracker.Stats.DNSAnswers == 0
	s.logged++
	s.sink(&f)
}
