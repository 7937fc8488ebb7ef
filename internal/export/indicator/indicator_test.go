package indicator

import (
	"net/netip"
	"testing"
)

func TestPrefixesAndMerge(t *testing.T) {
	in := []Indicator{
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Entity: "a"},
		{Prefix: netip.MustParsePrefix("10.1.2.0/24"), Entity: "b"}, // inside the /16
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Entity: "a"},
		{Prefix: netip.MustParsePrefix("10.3.0.0/16"), Entity: "a"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Entity: "a"},
		{Domain: "x.example"},
	}
	ps := Prefixes(in)
	if len(ps) != 4 || ps[0].Prefix.String() != "10.1.0.0/16" || ps[0].Entity != "a" {
		t.Fatalf("Prefixes: %+v", ps)
	}
	v4, v6 := Merged(in)
	if len(v4) != 2 || v4[0].String() != "10.1.0.0/16" || v4[1].String() != "10.2.0.0/15" || len(v6) != 1 {
		t.Fatalf("Merged: %v %v", v4, v6)
	}
}

func TestDomainsSubtree(t *testing.T) {
	in := []Indicator{{Domain: "api.tiktok.com"}, {Domain: "TikTok.com."}, {Domain: "tiktokv.com"}, {Prefix: netip.MustParsePrefix("10.0.0.0/8")}}
	if got := Domains(in, true); len(got) != 2 || got[0].Domain != "tiktok.com" || got[1].Domain != "tiktokv.com" {
		t.Fatalf("subtree: %+v", got)
	}
	if got := Domains(in, false); len(got) != 3 || got[0].Domain != "api.tiktok.com" {
		t.Fatalf("exact: %+v", got)
	}
}
