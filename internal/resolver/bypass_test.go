package resolver

import (
	"testing"

	"github.com/miekg/dns"
)

// TestBypassCanariesAndDNSServices: a real resolver on 127.0.0.1 answers
// the vendors' canary names NXDOMAIN when the policy says canaries, blocks
// the catalog's encrypted-DNS and HTTP-DNS names for the group the policy
// names (and not for others), and blocks a banned owner's HTTP-DNS service
// with the owner even where no bypass rule names it.
func TestBypassCanariesAndDNSServices(t *testing.T) {
	const pol = `
groups:
  - name: guest
    addresses: [127.0.0.2]
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
bypass:
  canaries: true
  dns_services:
    - id: no-encrypted-dns
      kinds: [public-resolver]
      groups: [guest]
`
	h := newHarness(t, pol, nil)
	for i, tc := range []struct {
		client, name string
		qtype        uint16
		rcode        int
		rule         string
	}{
		{"127.0.0.1", "use-application-dns.net", dns.TypeA, dns.RcodeNameError, "bypass-canaries"},
		{"127.0.0.1", "use-application-dns.net", dns.TypeAAAA, dns.RcodeNameError, "bypass-canaries"},
		{"127.0.0.1", "mask.icloud.com", dns.TypeHTTPS, dns.RcodeNameError, "bypass-canaries"},
		{"127.0.0.1", "mask-h2.icloud.com", dns.TypeA, dns.RcodeNameError, "bypass-canaries"},
		// The public resolver's name: blocked for the guest group only.
		{"127.0.0.2", "dns.acme-resolver.example", dns.TypeA, dns.RcodeNameError, "no-encrypted-dns"},
		{"127.0.0.1", "dns.acme-resolver.example", dns.TypeA, -1, ""},
		// ByteDance's HTTP-DNS service goes with the ByteDance ban, for
		// every client the ban covers.
		{"127.0.0.1", "httpdns.bytedance-cloud.example", dns.TypeA, dns.RcodeNameError, "tiktok-ban"},
		{"127.0.0.1", "eu.httpdns.bytedance-cloud.example", dns.TypeA, dns.RcodeNameError, "tiktok-ban"},
		{"127.0.0.1", "plain.example", dns.TypeA, dns.RcodeSuccess, ""},
	} {
		r, err := h.exchange(from(tc.client), msg(tc.name, tc.qtype), h.udp)
		if err != nil {
			t.Fatalf("%s from %s: %v", tc.name, tc.client, err)
		}
		if tc.rcode >= 0 && r.Rcode != tc.rcode {
			t.Errorf("%s %s from %s: rcode %s, want %s", tc.name, dns.TypeToString[tc.qtype], tc.client, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
		}
		e := h.logged(i + 1)[i]
		if e.Rule != tc.rule {
			t.Errorf("%s from %s: logged rule %q (verdict %s), want %q", tc.name, tc.client, e.Rule, e.Verdict, tc.rule)
		}
	}
}

// Without the bypass section the canaries are ordinary names.
func TestBypassOffByDefault(t *testing.T) {
	h := newHarness(t, testPolicy, nil)
	h.ask("use-application-dns.net", dns.TypeA)
	if e := h.logged(1)[0]; e.Rule != "" || e.Verdict == "block" {
		t.Errorf("canary blocked without the switch: %+v", e)
	}
}
