package suricata

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

// ruleRE is the shape of a Suricata rule the export writes: action,
// protocol, addresses and ports, then options "key:value;" or "key;"
// (Suricata rule format, suricata.readthedocs.io "Rules Format").
var (
	ruleRE   = regexp.MustCompile(`^alert (dns|tls|quic) any any -> any any \((.*)\)$`)
	optionRE = regexp.MustCompile(`^([a-z_.]+)(:(.*))?$`)
)

// TestRuleGrammar parses every rule: options well formed, msg quoted with
// nothing that ends it early, the sticky buffer right for the protocol,
// sids unique and in the documented range. suricata is not in this
// system's package sources, so `suricata -T` cannot run here.
func TestRuleGrammar(t *testing.T) {
	in := []indicator.Indicator{
		{Domain: "tiktok.com", Entity: "bytedance", EntityName: `ByteDance "Ltd"; x`, Lists: []string{"fcc-covered"}, Rule: "domain:tiktok.com", Source: "s1", AsOf: "2026-11-01"},
		{Domain: "api.tiktok.com", Entity: "bytedance"}, // covered by tiktok.com
		{Domain: "httpdns.volcengineapi.com", Entity: "volcengine", Rule: "dns-service:volcengine-httpdns", Source: "v, s"},
	}
	var b bytes.Buffer
	if err := Write(&b, indicator.Header{Title: "t", Generated: time.Unix(0, 0)}, in); err != nil {
		t.Fatal(err)
	}
	buffer := map[string]string{"dns": "dns.query", "tls": "tls.sni", "quic": "quic.sni"}
	sids := map[int]bool{}
	rules := 0
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := ruleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a rule: %s", line)
		}
		rules++
		opts := splitOptions(t, m[2])
		if opts[0][0] != "msg" || !strings.HasPrefix(opts[0][1], `"`) || !strings.HasSuffix(opts[0][1], `"`) {
			t.Errorf("msg: %v", opts[0])
		}
		msg := opts[0][1]
		if strings.Count(msg, `"`) != 2 || !strings.Contains(msg, "bytedance") && !strings.Contains(msg, "volcengine") {
			t.Errorf("msg must quote once and name the entity: %s", msg)
		}
		if strings.Contains(msg, "tiktok.com") && !strings.Contains(msg, "lists fcc-covered") {
			t.Errorf("msg must name the list: %s", msg)
		}
		if opts[1][0] != buffer[m[1]] || opts[2][0] != "dotprefix" || opts[3][0] != "content" || opts[4][0] != "endswith" {
			t.Errorf("buffer and content order: %v", opts)
		}
		for _, o := range opts {
			if o[0] == "sid" {
				n, err := strconv.Atoi(o[1])
				if err != nil || n < SIDBase || n >= SIDBase+SIDRange || sids[n] {
					t.Errorf("sid %s: outside the range or repeated", o[1])
				}
				sids[n] = true
			}
		}
	}
	if rules != 6 {
		t.Errorf("%d rules, want 6 (2 names x dns, tls, quic)", rules)
	}
	// A name keeps its sid from one export to the next.
	if a, b := SID("dns.query", "tiktok.com", map[uint32]bool{}), SID("dns.query", "tiktok.com", map[uint32]bool{}); a != b {
		t.Errorf("sid not stable: %d %d", a, b)
	}
}

// splitOptions splits "k:v; k; ..." honouring quotes and escapes.
func splitOptions(t *testing.T, s string) [][2]string {
	var out [][2]string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
			continue
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			o := strings.TrimSpace(cur.String())
			m := optionRE.FindStringSubmatch(o)
			if m == nil {
				t.Fatalf("bad option %q in %s", o, s)
			}
			out = append(out, [2]string{m[1], m[3]})
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	if inQuote || strings.TrimSpace(cur.String()) != "" {
		t.Fatalf("unterminated options: %s", s)
	}
	return out
}
