// Package eve reads Suricata's EVE JSON log: flow events for the
// conversations and their bytes, and the tls, quic, http and dns events
// that name them, joined by flow_id.
//
// It is a source and must never import the catalog, attribute or a sink.
package eve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/ingest"
	"github.com/outflow-dev/outflow/internal/sniff/httphost"
)

// MaxFlows bounds the names remembered by flow_id until their flow event.
const MaxFlows = 1 << 20

// Reader reads EVE logs.
type Reader struct {
	names map[uint64]*names
	// Stats
	Lines, Bad uint64
}

type names struct{ sni, quic, host, org, httpdns string }

// New returns a reader.
func New() *Reader { return &Reader{names: map[uint64]*names{}} }

// Sniff reports whether the start of a file looks like EVE JSON.
func Sniff(head []byte) bool {
	s := string(head)
	return strings.HasPrefix(s, "{") && strings.Contains(s, `"event_type"`)
}

type event struct {
	Timestamp string `json:"timestamp"`
	FlowID    uint64 `json:"flow_id"`
	EventType string `json:"event_type"`
	SrcIP     string `json:"src_ip"`
	SrcPort   uint16 `json:"src_port"`
	DestIP    string `json:"dest_ip"`
	DestPort  uint16 `json:"dest_port"`
	Proto     string `json:"proto"`
	TLS       *struct {
		SNI     string `json:"sni"`
		Subject string `json:"subject"`
	} `json:"tls"`
	QUIC *struct {
		SNI string `json:"sni"`
	} `json:"quic"`
	HTTP *struct {
		Hostname string `json:"hostname"`
		URL      string `json:"url"`
		Method   string `json:"http_method"`
	} `json:"http"`
	DNS *struct {
		Type    string   `json:"type"`
		RRName  string   `json:"rrname"`
		RRType  string   `json:"rrtype"`
		RData   string   `json:"rdata"`
		TTL     uint32   `json:"ttl"`
		Answers []answer `json:"answers"`
	} `json:"dns"`
	Flow *struct {
		PktsToServer  uint64 `json:"pkts_toserver"`
		PktsToClient  uint64 `json:"pkts_toclient"`
		BytesToServer uint64 `json:"bytes_toserver"`
		BytesToClient uint64 `json:"bytes_toclient"`
		Start         string `json:"start"`
		End           string `json:"end"`
	} `json:"flow"`
}

type answer struct {
	RRName string `json:"rrname"`
	RRType string `json:"rrtype"`
	TTL    uint32 `json:"ttl"`
	RData  string `json:"rdata"`
}

// Suricata writes "2026-03-02T09:00:01.123456+0000".
const layout = "2006-01-02T15:04:05.999999-0700"

func parseTime(s string) time.Time {
	t, err := time.Parse(layout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

// Read reads one EVE file. Bad lines go to bad with file and line.
func (r *Reader) Read(name string, in io.Reader, sink ingest.Sink, bad func(error)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if err := r.line(sc.Bytes(), sink); err != nil {
			bad(&ingest.LineError{File: name, Line: line, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	return nil
}

// Line reads one event line (without its newline) of the file called
// name, for a file followed as it grows; offset, where the line starts,
// goes into the error given to bad.
func (r *Reader) Line(name string, b []byte, offset int64, sink ingest.Sink, bad func(error)) {
	if err := r.line(b, sink); err != nil {
		bad(&ingest.LineError{File: name, Offset: offset, Err: err})
	}
}

func (r *Reader) line(b []byte, sink ingest.Sink) error {
	if len(b) == 0 {
		return nil
	}
	r.Lines++
	var ev event
	if err := json.Unmarshal(b, &ev); err != nil {
		r.Bad++
		return err
	}
	if err := r.event(&ev, sink); err != nil {
		r.Bad++
		return err
	}
	return nil
}

func (r *Reader) remember(id uint64) *names {
	n := r.names[id]
	if n == nil {
		if len(r.names) >= MaxFlows {
			clear(r.names)
		}
		n = &names{}
		r.names[id] = n
	}
	return n
}

func (r *Reader) event(ev *event, sink ingest.Sink) error {
	switch ev.EventType {
	case "tls":
		if ev.TLS != nil {
			n := r.remember(ev.FlowID)
			n.sni = strings.ToLower(ev.TLS.SNI)
			n.org = subjectOrg(ev.TLS.Subject)
		}
	case "quic":
		if ev.QUIC != nil && ev.QUIC.SNI != "" {
			r.remember(ev.FlowID).quic = strings.ToLower(ev.QUIC.SNI)
		}
	case "http":
		if ev.HTTP != nil && ev.HTTP.Hostname != "" {
			n := r.remember(ev.FlowID)
			if n.host == "" {
				n.host = strings.ToLower(ev.HTTP.Hostname)
			}
			if n.httpdns == "" {
				n.httpdns, _ = httphost.DNSRequest(ev.HTTP.Method, []byte(ev.HTTP.URL))
			}
		}
	case "dns":
		return r.dns(ev, sink)
	case "flow":
		return r.flow(ev, sink)
	}
	return nil
}

func (r *Reader) dns(ev *event, sink ingest.Sink) error {
	if ev.DNS == nil || ev.DNS.Type != "answer" {
		return nil
	}
	// An answer goes from the resolver (src) to the client (dest).
	client, err := netip.ParseAddr(ev.DestIP)
	if err != nil {
		return fmt.Errorf("dest_ip: %w", err)
	}
	at := parseTime(ev.Timestamp)
	q := strings.ToLower(strings.TrimSuffix(ev.DNS.RRName, "."))
	add := func(a answer) {
		if a.RRType != "A" && a.RRType != "AAAA" {
			return
		}
		addr, err := netip.ParseAddr(a.RData)
		if err != nil {
			return
		}
		sink.DNS(ingest.DNS{Client: client, Query: q, Name: strings.ToLower(strings.TrimSuffix(a.RRName, ".")), Addr: addr, TTL: a.TTL, At: at})
	}
	for _, a := range ev.DNS.Answers {
		add(a)
	}
	if len(ev.DNS.Answers) == 0 && ev.DNS.RData != "" { // version 1 answer events: one record each
		add(answer{RRName: ev.DNS.RRName, RRType: ev.DNS.RRType, TTL: ev.DNS.TTL, RData: ev.DNS.RData})
	}
	return nil
}

func (r *Reader) flow(ev *event, sink ingest.Sink) error {
	if ev.Flow == nil {
		return fmt.Errorf("flow event without a flow object")
	}
	src, err1 := netip.ParseAddr(ev.SrcIP)
	dst, err2 := netip.ParseAddr(ev.DestIP)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("flow event without addresses")
	}
	f := ingest.Flow{
		Orig: netip.AddrPortFrom(src, ev.SrcPort), Resp: netip.AddrPortFrom(dst, ev.DestPort),
		OrigBytes: ev.Flow.BytesToServer, RespBytes: ev.Flow.BytesToClient,
		OrigPkts: ev.Flow.PktsToServer, RespPkts: ev.Flow.PktsToClient,
		Start: parseTime(ev.Flow.Start), End: parseTime(ev.Flow.End),
	}
	switch ev.Proto {
	case "TCP":
		f.Proto = 6
	case "UDP":
		f.Proto = 17
	default:
		return nil
	}
	if n := r.names[ev.FlowID]; n != nil {
		f.SNI, f.QUICSNI, f.HTTPHost, f.CertOrg, f.HTTPDNS = n.sni, n.quic, n.host, n.org, n.httpdns
		delete(r.names, ev.FlowID)
	}
	sink.Flow(f)
	return nil
}

// subjectOrg takes O= from Suricata's subject ("C=HK, ST=HongKong, O=Tencent
// Mobility Limited, CN=web.wechat.com"). Values are not escaped there, so a
// value ends only where ", KEY=" starts the next attribute: "Co., Ltd." stays
// whole.
func subjectOrg(s string) string {
	start := -1
	if strings.HasPrefix(s, "O=") {
		start = 2
	} else if i := strings.Index(s, ", O="); i >= 0 {
		start = i + 4
	}
	if start < 0 {
		return ""
	}
	rest := s[start:]
	for i := 0; i+2 < len(rest); i++ {
		if rest[i] == ',' && rest[i+1] == ' ' && isKey(rest[i+2:]) {
			return rest[:i]
		}
	}
	return rest
}

// isKey reports whether s starts with an attribute key and "=".
func isKey(s string) bool {
	for i := 0; i < len(s) && i < 24; i++ {
		c := s[i]
		switch {
		case c == '=':
			return i > 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.':
		default:
			return false
		}
	}
	return false
}
