package zeekintel

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

// TestIntelFile checks what Zeek's input reader needs of an intel file:
// the #fields line first, tab-separated, with indicator and
// indicator_type; then rows of exactly as many tab-separated columns, an
// Intel:: type that fits the indicator, and "-" for an empty field.
func TestIntelFile(t *testing.T) {
	p := netip.MustParsePrefix
	in := []indicator.Indicator{
		{Domain: "tiktok.com", Entity: "bytedance", Rule: "domain:tiktok.com", Source: "s1", SourceURL: "https://example.org/a\tb"},
		{Domain: "api.tiktok.com", Entity: "bytedance", Rule: "domain:api.tiktok.com"},
		{Prefix: p("71.18.0.0/16"), Entity: "bytedance", Rule: "prefix:71.18.0.0/16"},
		{Prefix: p("203.107.1.65/32"), Entity: "alibaba-cloud", Rule: "dns-service:alibaba-cloud-httpdns", Unverified: true},
	}
	var b bytes.Buffer
	if err := Write(&b, indicator.Header{Title: "t", Generated: time.Unix(0, 0)}, in); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	sc.Scan()
	if sc.Text() != "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url" {
		t.Fatalf("first line: %q", sc.Text())
	}
	got := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(Fields) {
			t.Fatalf("%d columns, want %d: %q", len(f), len(Fields), line)
		}
		for _, v := range f {
			if v == "" {
				t.Errorf("empty field (Zeek wants -): %q", line)
			}
		}
		if !strings.HasPrefix(f[2], "outflow ") {
			t.Errorf("meta.source must name the catalog rule: %q", f[2])
		}
		got[f[0]] = f[1] + " " + f[2]
	}
	want := map[string]string{
		"tiktok.com":     "Intel::DOMAIN outflow domain:tiktok.com",
		"api.tiktok.com": "Intel::DOMAIN outflow domain:api.tiktok.com", // exact names: Zeek does not match subdomains
		"71.18.0.0/16":   "Intel::SUBNET outflow prefix:71.18.0.0/16",
		"203.107.1.65":   "Intel::ADDR outflow dns-service:alibaba-cloud-httpdns",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}
