package policy

import (
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
)

// Canaries are the names browsers and operating systems ask before they
// switch to encrypted DNS or a relay, and the answer their vendors ask
// networks that filter DNS to give: Firefox does not enable DNS over HTTPS
// by default when use-application-dns.net gets NXDOMAIN (Mozilla, "Canary
// domain - use-application-dns.net"); Apple devices tell the user iCloud
// Private Relay is off on this network when mask.icloud.com and
// mask-h2.icloud.com get a negative answer, NXDOMAIN or no answer (Apple,
// "Prepare your network or web server for iCloud Private Relay").
var Canaries = []string{"use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"}

// rawBypass is the policy's bypass section.
type rawBypass struct {
	// Canaries answers the canary names NXDOMAIN for every client.
	Canaries bool `yaml:"canaries"`
	// DNSServices blocks the names of the catalog's DNS services
	// (dns-services/): public resolvers' DoH/DoT names, HTTP-DNS APIs.
	DNSServices []rawServiceBlock `yaml:"dns_services"`
}

type rawServiceBlock struct {
	ID     string     `yaml:"id"`
	Kinds  StringList `yaml:"kinds"` // public-resolver, httpdns; default both
	Groups StringList `yaml:"groups"`
	Answer string     `yaml:"answer"`
}

// bypass compiles the bypass section into rules of its own, after the
// file's rules. They are ordinary name rules: the resolver's per-query
// path is the one every names rule takes, nothing is added to it.
func (c *compiler) bypass(raw *rawPolicy, doc *yaml.Node, groups map[string]int, def Answer, ids map[string]bool) {
	bn := nodeOf(top(doc), "bypass")
	if raw.Bypass.Canaries {
		rr := rawRule{ID: "bypass-canaries", Action: "block", Names: Canaries, Answer: "nxdomain",
			Basis: "vendors' canary names: networks that filter DNS answer NXDOMAIN"}
		c.rule(-1, &rr, nodeOf(bn, "canaries"), groups, def, ids)
	}
	items := []*yaml.Node(nil)
	if n := nodeOf(bn, "dns_services"); n != nil {
		items = n.Content
	}
	for i, sb := range raw.Bypass.DNSServices {
		n := at(items, i)
		rr := rawRule{ID: sb.ID, Action: "block", Groups: sb.Groups, Answer: sb.Answer,
			Basis: "encrypted-DNS and HTTP-DNS services go around the network's resolver"}
		if rr.ID == "" {
			rr.ID = "bypass-dns-services"
			if i > 0 {
				rr.ID += "-" + strconv.Itoa(i+1)
			}
		}
		kinds := map[catalog.DNSServiceKind]bool{}
		for _, k := range sb.Kinds {
			switch catalog.DNSServiceKind(k) {
			case catalog.PublicResolver, catalog.HTTPDNS:
				kinds[catalog.DNSServiceKind(k)] = true
			default:
				c.add(lineOf(n, "kinds"), "bypass dns_services: kind %q is not public-resolver or httpdns", k)
			}
		}
		if c.opt.Catalog == nil {
			// Without the catalog (commands that do not answer DNS) the
			// rule is checked but names nothing; the resolver passes it.
			continue
		}
		for _, s := range c.opt.Catalog.DNSServiceList() {
			if len(kinds) > 0 && !kinds[s.Kind] {
				continue
			}
			for _, f := range s.Names {
				rr.Names = append(rr.Names, f.Value)
			}
		}
		c.rule(-1, &rr, n, groups, def, ids)
	}
}

// withOwnerServices adds to a block rule the names of the HTTP-DNS services
// whose owner the rule blocks: a ban on ByteDance also answers Volcano
// Engine's HTTPDNS name, which its SDKs would otherwise use to resolve the
// banned names past the resolver.
func (c *compiler) withOwnerServices(r *Rule) {
	if c.opt.Catalog == nil || r.Action != Block || !r.catalogAny {
		return
	}
	for _, s := range c.opt.Catalog.DNSServiceList() {
		if s.Kind != catalog.HTTPDNS || s.OwnerEntity == nil {
			continue
		}
		if !r.matches(attribute.Attribution{Entity: s.OwnerEntity, Role: catalog.RoleService}) {
			continue
		}
		for _, f := range s.Names {
			r.Names = append(r.Names, f.Value)
			c.addName(c.p.ruleNames, []byte(f.Value), r.idx)
			r.NameCount++
		}
	}
}

// nodeOf is the value node under key in a mapping, or nil.
func nodeOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
