package nftables

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

func sample() []indicator.Indicator {
	p := netip.MustParsePrefix
	return []indicator.Indicator{
		{Prefix: p("71.18.0.0/16"), Entity: "bytedance"},
		{Prefix: p("71.18.4.0/24"), Entity: "bytedance"}, // inside: would be a conflicting interval
		{Prefix: p("203.107.1.65/32"), Entity: "alibaba-cloud"},
		{Prefix: p("2402:3e80::/32"), Entity: "bytedance"},
		{Domain: "tiktok.com", Entity: "bytedance"},
	}
}

// TestLoadsWithNft checks the ruleset with nft itself (`nft -c -f`: parse
// and validate against the kernel without applying) when nft is installed
// and allowed to; otherwise it falls back to the structure test below.
func TestLoadsWithNft(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, indicator.Header{Title: "t", Generated: time.Unix(0, 0)}, sample()); err != nil {
		t.Fatal(err)
	}
	nft, err := exec.LookPath("nft")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nft not installed: CI installs nftables (.ci/run) so that the export is checked by nft itself")
		}
		t.Skip("nft not installed (apt-get install nftables); structure covered by TestStructure")
	}
	f := filepath.Join(t.TempDir(), "outflow.nft")
	os.WriteFile(f, b.Bytes(), 0o600)
	out, err := exec.Command(nft, "-c", "-f", f).CombinedOutput()
	if err != nil && strings.Contains(string(out), "Operation not permitted") {
		t.Skipf("nft -c needs CAP_NET_ADMIN here: %s", out)
	}
	if err != nil {
		t.Fatalf("nft -c -f rejects the export: %v\n%s\n%s", err, out, b.String())
	}
	// And nft must reject what it should: the check is real.
	bad := strings.Replace(b.String(), "71.18.0.0/16", "71.18.0.0/16, 71.18.4.0/24", 1)
	os.WriteFile(f, []byte(bad), 0o600)
	if out, err := exec.Command(nft, "-c", "-f", f).CombinedOutput(); err == nil {
		t.Fatalf("nft accepted overlapping intervals:\n%s", out)
	}
}

func TestStructure(t *testing.T) {
	var b bytes.Buffer
	Write(&b, indicator.Header{Title: "t", Generated: time.Unix(0, 0), Selection: "x"}, sample())
	s := b.String()
	for _, want := range []string{
		"table inet outflow {}\ndelete table inet outflow\ntable inet outflow {\n",
		"\tset outflow_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n\t\t\t71.18.0.0/16, 203.107.1.65/32\n\t\t}\n\t}\n",
		"\tset outflow_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = {\n\t\t\t2402:3e80::/32\n\t\t}\n\t}\n}\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if strings.Contains(s, "71.18.4.0") || strings.Contains(s, "tiktok") {
		t.Errorf("nested prefix or a name leaked:\n%s", s)
	}
	// No addresses at all: sets without elements (an empty elements
	// block is a syntax error in nft).
	b.Reset()
	Write(&b, indicator.Header{}, nil)
	if strings.Contains(b.String(), "elements") {
		t.Errorf("empty sets have an elements block:\n%s", b.String())
	}
}
