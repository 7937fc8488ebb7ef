package edl

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

func TestEDLs(t *testing.T) {
	p := netip.MustParsePrefix
	in := []indicator.Indicator{
		{Prefix: p("71.18.0.0/16")}, {Prefix: p("71.18.9.0/24")}, {Prefix: p("203.107.1.65/32")}, {Prefix: p("2402:3e80::/32")},
		{Domain: "tiktok.com"}, {Domain: "api.tiktok.com"}, {Domain: "httpdns.volcengineapi.com"},
	}
	var b bytes.Buffer
	if err := WriteIP(&b, in); err != nil {
		t.Fatal(err)
	}
	if want := "71.18.0.0/16\n203.107.1.65\n2402:3e80::/32\n"; b.String() != want {
		t.Errorf("IP list:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	WriteDomain(&b, in)
	if want := "httpdns.volcengineapi.com\n*.httpdns.volcengineapi.com\ntiktok.com\n*.tiktok.com\n"; b.String() != want {
		t.Errorf("domain list:\n%s\nwant\n%s", b.String(), want)
	}
}
