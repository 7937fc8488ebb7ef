// Package zeek reads Zeek logs, in Zeek's TSV format or as JSON lines:
// conn.log for the conversations and their bytes, ssl.log (server name and
// certificate subject), http.log (Host) and dns.log (answers), joined by
// uid. Give the name logs before conn.log (the scan orders them so).
//
// It is a source and must never import the catalog, attribute or a sink.
package zeek

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/ingest"
	"github.com/outflow-dev/outflow/internal/sniff/httphost"
)

// MaxUIDs bounds the names remembered by uid until their conn record.
const MaxUIDs = 1 << 20

// Reader joins the logs it is given.
type Reader struct {
	names map[string]*names
	// Stats
	Lines, Bad uint64
}

type names struct{ sni, host, org, httpdns string }

// New returns a reader.
func New() *Reader { return &Reader{names: map[string]*names{}} }

// Sniff reports whether the start of a file looks like a Zeek log.
func Sniff(head []byte) bool {
	s := string(head)
	return strings.HasPrefix(s, "#separator") || strings.HasPrefix(s, "{") && strings.Contains(s, `"uid"`) && strings.Contains(s, `"id.orig_h"`)
}

// Kind orders logs: name logs (0) before conn logs (1).
func Kind(head []byte) int {
	s := string(head)
	if strings.Contains(s, "#path\tconn") || strings.Contains(s, `"conn_state"`) || strings.Contains(s, `"_path":"conn"`) {
		return 1
	}
	return 0
}

// Read reads one log and sends what it joins to sink. Bad lines are
// reported to bad with their file and line, and reading goes on.
func (r *Reader) Read(name string, in io.Reader, sink ingest.Sink, bad func(error)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	s := r.Stream(name)
	line := 0
	for sc.Scan() {
		line++
		if err := s.line(sc.Text(), sink); err != nil {
			bad(&ingest.LineError{File: name, Line: line, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	return nil
}

// Stream reads one log a line at a time, remembering its header
// (#separator, #fields, #path): for a file followed as it grows. Start a
// new Stream for each new file (rotation, truncation), and give it the
// file's header lines first when reading resumes past them. Names seen in
// one log join conns of another through the Reader, as with Read.
type Stream struct {
	r      *Reader
	name   string
	fields []string
	path   string
	sep    string
}

// Stream returns a stream over the log called name.
func (r *Reader) Stream(name string) *Stream { return &Stream{r: r, name: name, sep: "\t"} }

// Line reads one line without its newline; offset, where the line starts
// in the file, goes into the error given to bad.
func (s *Stream) Line(b []byte, offset int64, sink ingest.Sink, bad func(error)) {
	if err := s.line(string(b), sink); err != nil {
		bad(&ingest.LineError{File: s.name, Offset: offset, Err: err})
	}
}

func (s *Stream) line(text string, sink ingest.Sink) error {
	r := s.r
	if text == "" {
		return nil
	}
	if strings.HasPrefix(text, "#") {
		switch {
		case strings.HasPrefix(text, "#separator "):
			if v := strings.TrimPrefix(text, "#separator "); v == `\x09` {
				s.sep = "\t"
			} else if u, err := strconv.Unquote(`"` + v + `"`); err == nil {
				s.sep = u
			}
		case strings.HasPrefix(text, "#fields"):
			s.fields = strings.Split(text, s.sep)[1:]
		case strings.HasPrefix(text, "#path"):
			s.path = strings.TrimSpace(strings.TrimPrefix(text, "#path"))
		}
		return nil
	}
	r.Lines++
	var rec map[string]any
	if text[0] == '{' {
		if err := json.Unmarshal([]byte(text), &rec); err != nil {
			r.Bad++
			return err
		}
	} else {
		if s.fields == nil {
			r.Bad++
			return errors.New("data before the #fields header")
		}
		vals := strings.Split(text, s.sep)
		if len(vals) != len(s.fields) {
			r.Bad++
			return fmt.Errorf("%d values for %d fields", len(vals), len(s.fields))
		}
		rec = make(map[string]any, len(s.fields))
		for i, f := range s.fields {
			if vals[i] != "-" && vals[i] != "(empty)" {
				rec[f] = vals[i]
			}
		}
	}
	if err := r.record(s.path, rec, sink); err != nil {
		r.Bad++
		return err
	}
	return nil
}

func str(rec map[string]any, k string) string {
	switch v := rec[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func num(rec map[string]any, k string) uint64 {
	switch v := rec[k].(type) {
	case float64:
		return uint64(v)
	case string:
		n, _ := strconv.ParseUint(v, 10, 64)
		return n
	}
	return 0
}

func list(rec map[string]any, k string) []string {
	switch v := rec[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			switch y := x.(type) {
			case string:
				out = append(out, y)
			case float64:
				out = append(out, strconv.FormatFloat(y, 'f', -1, 64))
			}
		}
		return out
	case string:
		return strings.Split(v, ",")
	}
	return nil
}

// ts reads Zeek's epoch seconds (TSV, JSON number) or ISO 8601 (JSON with
// iso8601 timestamps).
func ts(rec map[string]any, k string) time.Time {
	switch v := rec[k].(type) {
	case float64:
		return time.Unix(0, int64(v*1e9))
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Unix(0, int64(f*1e9))
		}
		t, _ := time.Parse(time.RFC3339Nano, v)
		return t
	}
	return time.Time{}
}

func (r *Reader) remember(uid string) *names {
	n := r.names[uid]
	if n == nil {
		if len(r.names) >= MaxUIDs {
			clear(r.names)
		}
		n = &names{}
		r.names[uid] = n
	}
	return n
}

func (r *Reader) record(path string, rec map[string]any, sink ingest.Sink) error {
	if p := str(rec, "_path"); p != "" {
		path = p
	}
	uid := str(rec, "uid")
	switch {
	case path == "ssl" || path == "" && rec["server_name"] != nil:
		n := r.remember(uid)
		n.sni = strings.ToLower(str(rec, "server_name"))
		n.org = subjectOrg(str(rec, "subject"))
	case path == "http" || path == "" && rec["method"] != nil && rec["host"] != nil:
		n := r.remember(uid)
		if n.host == "" {
			n.host = strings.ToLower(hostOnly(str(rec, "host")))
		}
		if n.httpdns == "" {
			n.httpdns, _ = httphost.DNSRequest(str(rec, "method"), []byte(str(rec, "uri")))
		}
	case path == "dns" || path == "" && rec["query"] != nil:
		client, err := netip.ParseAddr(str(rec, "id.orig_h"))
		if err != nil {
			return fmt.Errorf("id.orig_h: %w", err)
		}
		q := strings.ToLower(strings.TrimSuffix(str(rec, "query"), "."))
		ttls := list(rec, "TTLs")
		for i, a := range list(rec, "answers") {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				continue // a CNAME target or other record
			}
			var ttl uint32
			if i < len(ttls) {
				f, _ := strconv.ParseFloat(ttls[i], 64)
				ttl = uint32(f)
			}
			sink.DNS(ingest.DNS{Client: client, Query: q, Name: q, Addr: addr, TTL: ttl, At: ts(rec, "ts")})
		}
	case path == "conn" || path == "" && rec["conn_state"] != nil:
		return r.conn(uid, rec, sink)
	}
	return nil
}

func (r *Reader) conn(uid string, rec map[string]any, sink ingest.Sink) error {
	oh, err1 := netip.ParseAddr(str(rec, "id.orig_h"))
	rh, err2 := netip.ParseAddr(str(rec, "id.resp_h"))
	if err1 != nil || err2 != nil {
		return errors.New("conn record without addresses")
	}
	f := ingest.Flow{
		Orig: netip.AddrPortFrom(oh, uint16(num(rec, "id.orig_p"))), Resp: netip.AddrPortFrom(rh, uint16(num(rec, "id.resp_p"))),
		OrigPkts: num(rec, "orig_pkts"), RespPkts: num(rec, "resp_pkts"), Start: ts(rec, "ts"),
	}
	switch str(rec, "proto") {
	case "tcp":
		f.Proto = 6
	case "udp":
		f.Proto = 17
	default:
		return nil
	}
	// IP-level bytes where Zeek logged them (closest to what a capture
	// counts); payload bytes otherwise.
	f.OrigBytes, f.RespBytes = num(rec, "orig_ip_bytes"), num(rec, "resp_ip_bytes")
	if rec["orig_ip_bytes"] == nil {
		f.OrigBytes, f.RespBytes = num(rec, "orig_bytes"), num(rec, "resp_bytes")
	}
	d, _ := strconv.ParseFloat(str(rec, "duration"), 64)
	f.End = f.Start.Add(time.Duration(d * 1e9))
	if n := r.names[uid]; n != nil {
		f.SNI, f.HTTPHost, f.CertOrg, f.HTTPDNS = n.sni, n.host, n.org, n.httpdns
		if f.Proto == 17 {
			f.QUICSNI, f.SNI = f.SNI, ""
		}
		delete(r.names, uid)
	}
	sink.Flow(f)
	return nil
}

// subjectOrg takes O= from an RFC 4514 subject ("CN=x,O=Tencent Mobility
// Limited,L=...", commas inside values escaped).
func subjectOrg(s string) string {
	for len(s) > 0 {
		var part string
		i := 0
		for i < len(s) && s[i] != ',' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		part, s = s[:min(i, len(s))], s[min(i+1, len(s)):]
		if strings.HasPrefix(part, "O=") {
			return strings.ReplaceAll(part[2:], `\,`, ",")
		}
	}
	return ""
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}
