package catalog

import (
	"net/netip"
	"strings"
	"testing"
)

const goodService = `id: acme-httpdns
name: Acme HTTPDNS
owner: acme
kind: httpdns
protocols: [http, https]
names:
  - httpdns.acme.cn
  - {value: d.acme.cn, status: unverified}
addresses:
  - 192.0.2.7
  - {value: "2001:db8::/48", source: s1}
source: s1
as_of: 2026-01-01
`

func TestDNSServiceLookups(t *testing.T) {
	ix, err := compile(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity, "dns-services/acme.yaml": goodService})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want string
	}{{"httpdns.acme.cn", "acme-httpdns"}, {"EU.HTTPDNS.acme.cn.", "acme-httpdns"}, {"d.acme.cn", "acme-httpdns"}, {"acme.cn", ""}, {"xhttpdns.acme.cn", ""}} {
		got := ""
		if s := ix.LookupDNSServiceName(tc.name); s != nil {
			got = s.ID
		}
		if got != tc.want {
			t.Errorf("name %s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		addr string
		want string
	}{{"192.0.2.7", "acme-httpdns"}, {"::ffff:192.0.2.7", "acme-httpdns"}, {"192.0.2.8", ""}, {"2001:db8:0:5::1", "acme-httpdns"}, {"2001:db9::1", ""}} {
		got := ""
		if s := ix.LookupDNSServiceAddr(netip.MustParseAddr(tc.addr)); s != nil {
			got = s.ID
		}
		if got != tc.want {
			t.Errorf("addr %s: got %q, want %q", tc.addr, got, tc.want)
		}
	}
	s := ix.DNSServices["acme-httpdns"]
	if s.OwnerEntity == nil || s.OwnerEntity.ID != "acme" || s.Status != Listed || s.Names[1].Status != Unverified {
		t.Errorf("compiled service: %+v", s)
	}
}

func TestDNSServiceProblems(t *testing.T) {
	other := strings.NewReplacer("id: acme-httpdns", "id: other", "192.0.2.7", "192.0.2.9", "2001:db8::/48", "2001:db9::/48").Replace(goodService)
	for _, tc := range []struct {
		name, file, want string
		extra            map[string]string
	}{
		{"unknown owner", strings.Replace(goodService, "owner: acme", "owner: nobody", 1), `t/dns-services/x.yaml:1: dns service acme-httpdns: owner "nobody" is not in the catalog`, nil},
		{"bad kind", strings.Replace(goodService, "kind: httpdns", "kind: dns", 1), `kind "dns" is not public-resolver or httpdns`, nil},
		{"bad protocol", strings.Replace(goodService, "[http, https]", "[http, gopher]", 1), `protocol "gopher"`, nil},
		{"bad address", strings.Replace(goodService, "192.0.2.7", "192.0.2.700", 1), `t/dns-services/x.yaml:10: dns service acme-httpdns address "192.0.2.700": not an address or prefix`, nil},
		{"host bits", strings.Replace(goodService, "2001:db8::/48", "2001:db8::1/48", 1), "host bits set; write 2001:db8::/48", nil},
		{"bad name", strings.Replace(goodService, "  - httpdns.acme.cn", "  - \"*.acme.cn\"", 1), `t/dns-services/x.yaml:7: dns service acme-httpdns name "*.acme.cn"`, nil},
		{"fact source", strings.Replace(goodService, "source: s1}", "source: s7}", 1), `cites unknown source "s7"`, nil},
		{"no date", strings.Replace(goodService, "as_of: 2026-01-01\n", "", 1), "has no as_of date", nil},
		{"unknown key", goodService + "colour: red\n", `t/dns-services/x.yaml:14:1: unknown key "colour" at top level; allowed: addresses, as_of,`, nil},
		{"unknown key in a fact", strings.Replace(goodService, "source: s1}", "sorce: s1}", 1),
			`t/dns-services/x.yaml:11:30: unknown key "sorce" in addresses[1]; allowed: note, source, status, value`, nil},
		{"empty", "id: e\nname: E\nowner: acme\nkind: httpdns\nprotocols: [http]\nsource: s1\nas_of: 2026\n", "has neither names nor addresses", nil},
		{"name twice", goodService, "name httpdns.acme.cn is already dns service acme-httpdns's", map[string]string{"dns-services/y.yaml": strings.Replace(other, "d.acme.cn", "e.acme.cn", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity, "dns-services/x.yaml": tc.file}
			for k, v := range tc.extra {
				files[k] = v
			}
			_, err := compile(files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBuiltinDNSServices: the services issue 14 names are in the built-in
// catalog, each with an owner, a source and a date, and found by the
// addresses and names their vendors document.
func TestBuiltinDNSServices(t *testing.T) {
	ix, err := Open(testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ probe, service, owner string }{
		{"203.107.1.65", "alibaba-cloud-httpdns", "alibaba-cloud"},
		{"43.132.55.55", "tencent-cloud-httpdns", "tencent-cloud"},
		{"180.76.76.200", "baidu-cloud-httpdns", "baidu-cloud"},
		{"httpdns.volcengineapi.com", "volcengine-httpdns", "volcengine"},
		{"dns.google", "google-public-dns", "google"},
		{"mozilla.cloudflare-dns.com", "cloudflare-public-dns", "cloudflare"},
		{"2620:fe::fe", "quad9-public-dns", "quad9"},
		{"abc123.dns.nextdns.io", "nextdns-public-dns", "nextdns"},
	} {
		var s *DNSService
		if a, err := netip.ParseAddr(tc.probe); err == nil {
			s = ix.LookupDNSServiceAddr(a)
		} else {
			s = ix.LookupDNSServiceName(tc.probe)
		}
		if s == nil || s.ID != tc.service || s.OwnerEntity.ID != tc.owner || s.Source == "" || s.AsOf.IsZero() {
			t.Errorf("%s: got %+v, want %s owned by %s", tc.probe, s, tc.service, tc.owner)
		}
	}
	// Volcano Engine's owner chain reaches ByteDance: banning ByteDance
	// reaches its HTTP-DNS service.
	v := ix.DNSServices["volcengine-httpdns"].OwnerEntity
	if len(v.Chain) < 2 || v.Chain[1].ID != "bytedance" {
		t.Errorf("volcengine chain: %v", v.Chain)
	}
}
