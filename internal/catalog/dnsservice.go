package catalog

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/gaissmai/bart"
	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/catalog/domainset"
)

// DNSServiceKind says what a DNS service is to a network that runs its own
// resolver: a public resolver speaking standard encrypted DNS, or an HTTP
// API that apps call instead of DNS (HTTPDNS).
type DNSServiceKind string

// DNS service kinds.
const (
	PublicResolver DNSServiceKind = "public-resolver" // DoH, DoT, DoQ to anyone
	HTTPDNS        DNSServiceKind = "httpdns"         // a vendor API apps call with their account id
)

// DNS transports a service offers.
var validDNSProtocols = map[string]bool{"doh": true, "dot": true, "doq": true, "dns": true, "http": true, "https": true}

// DNSFact is one name or address of a DNS service, with its own source
// where it differs from the service's.
type DNSFact struct {
	Value  string `yaml:"value" json:"value"`
	Source string `yaml:"source" json:"source,omitempty"`
	Status Status `yaml:"status" json:"status,omitempty"`
	Note   string `yaml:"note" json:"note,omitempty"`
	Line   int    `yaml:"-" json:"-"`
}

// UnmarshalYAML takes a plain value or a mapping with value, source,
// status and note.
func (f *DNSFact) UnmarshalYAML(n *yaml.Node) error {
	f.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		f.Value = n.Value
		return nil
	}
	type plain DNSFact
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	p.Line = n.Line
	*f = DNSFact(p)
	return nil
}

// DNSService is a resolver or HTTP-DNS service that lets an app resolve
// names without asking the network's resolver (catalog/dns-services/ID.yaml).
type DNSService struct {
	ID        string         `yaml:"id" json:"id"`
	Name      string         `yaml:"name" json:"name"`
	Owner     string         `yaml:"owner" json:"owner"` // entity id
	Kind      DNSServiceKind `yaml:"kind" json:"kind"`
	Protocols []string       `yaml:"protocols" json:"protocols"`
	Names     []DNSFact      `yaml:"names" json:"names,omitempty"`
	Addresses []DNSFact      `yaml:"addresses" json:"addresses,omitempty"` // addresses or prefixes
	Endpoints []string       `yaml:"endpoints" json:"endpoints,omitempty"` // documented URL templates, for people
	Source    string         `yaml:"source" json:"source"`
	AsOf      Date           `yaml:"as_of" json:"as_of"`
	Status    Status         `yaml:"status" json:"status,omitempty"`
	Note      string         `yaml:"note" json:"note,omitempty"`
	Pos       Pos            `yaml:"-" json:"-"`

	// Filled by Compile.
	OwnerEntity *Entity        `yaml:"-" json:"-"`
	Prefixes    []netip.Prefix `yaml:"-" json:"-"`
}

// Rule names the catalog rule behind a match, as asset rules do.
func (s *DNSService) Rule() string { return "dns-service:" + s.ID }

// Offers reports whether the service speaks a transport.
func (s *DNSService) Offers(proto string) bool {
	for _, p := range s.Protocols {
		if p == proto {
			return true
		}
	}
	return false
}

// dnsIndex holds the compiled DNS services.
type dnsIndex struct {
	list  []*DNSService
	names *domainset.Set
	addrs bart.Table[uint32]
}

func (r *Raw) parseDNSService(file string, b []byte) Problems {
	s := new(DNSService)
	if _, probs := decodeStrict(file, b, s); probs != nil {
		return probs
	}
	s.Pos = Pos{file, 1}
	if r.DNSServices == nil {
		r.DNSServices = map[string]*DNSService{}
	}
	r.DNSServices[s.ID] = s // a later layer replaces a service whole
	return nil
}

// compileDNSServices validates the services against the sources and
// entities and builds their name and address matchers.
func (ix *Index) compileDNSServices(r *Raw, add func(Pos, string, ...any)) {
	ix.dns.names = domainset.New(16)
	ids := make([]string, 0, len(r.DNSServices))
	for id := range r.DNSServices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	ix.DNSServices = map[string]*DNSService{}
	nameOwner := map[string]*DNSService{}
	addrOwner := map[netip.Prefix]*DNSService{}
	for _, id := range ids {
		s := r.DNSServices[id]
		what := "dns service " + s.ID
		ok := true
		bad := func(pos Pos, f string, a ...any) { add(pos, f, a...); ok = false }
		if !validSlug(s.ID) {
			bad(s.Pos, "dns service id %q is not a lowercase slug", s.ID)
		}
		if s.Name == "" {
			bad(s.Pos, "%s has no name", what)
		}
		if s.OwnerEntity = r.Entities[s.Owner]; s.OwnerEntity == nil {
			bad(s.Pos, "%s: owner %q is not in the catalog", what, s.Owner)
		}
		if s.Kind != PublicResolver && s.Kind != HTTPDNS {
			bad(s.Pos, "%s: kind %q is not %s or %s", what, s.Kind, PublicResolver, HTTPDNS)
		}
		if len(s.Protocols) == 0 {
			bad(s.Pos, "%s lists no protocols", what)
		}
		for _, p := range s.Protocols {
			if !validDNSProtocols[p] {
				bad(s.Pos, "%s: protocol %q is not one of doh, dot, doq, dns, http, https", what, p)
			}
		}
		if len(s.Names)+len(s.Addresses) == 0 {
			bad(s.Pos, "%s has neither names nor addresses", what)
		}
		if s.Source == "" || r.Sources[s.Source] == nil {
			bad(s.Pos, "%s cites unknown source %q", what, s.Source)
		}
		if s.AsOf.IsZero() {
			bad(s.Pos, "%s has no as_of date", what)
		}
		if s.Status == "" {
			s.Status = Listed
		} else if !validStatus[s.Status] {
			bad(s.Pos, "%s: unknown status %q", what, s.Status)
		}
		facts := func(kind string, fs []DNSFact, norm func(string) (string, error)) {
			for i := range fs {
				f := &fs[i]
				pos := Pos{s.Pos.File, f.Line}
				if f.Source != "" && r.Sources[f.Source] == nil {
					bad(pos, "%s %s %s cites unknown source %q", what, kind, f.Value, f.Source)
				}
				if f.Status != "" && !validStatus[f.Status] {
					bad(pos, "%s %s %s: unknown status %q", what, kind, f.Value, f.Status)
				}
				v, err := norm(f.Value)
				if err != nil {
					bad(pos, "%s %s %q: %v", what, kind, f.Value, err)
					continue
				}
				f.Value = v
			}
		}
		facts("name", s.Names, func(v string) (string, error) { return canonical(KindDomain, v) })
		facts("address", s.Addresses, normAddr)
		if !ok {
			continue
		}
		for _, f := range s.Names {
			if prev := nameOwner[f.Value]; prev != nil {
				add(Pos{s.Pos.File, f.Line}, "%s: name %s is already dns service %s's (%s)", what, f.Value, prev.ID, prev.Pos)
				ok = false
			}
			nameOwner[f.Value] = s
		}
		s.Prefixes = s.Prefixes[:0]
		for _, f := range s.Addresses {
			p := netip.MustParsePrefix(f.Value)
			if prev := addrOwner[p]; prev != nil {
				add(Pos{s.Pos.File, f.Line}, "%s: address %s is already dns service %s's (%s)", what, f.Value, prev.ID, prev.Pos)
				ok = false
			}
			addrOwner[p] = s
			s.Prefixes = append(s.Prefixes, p)
		}
		if !ok {
			continue
		}
		n := uint32(len(ix.dns.list))
		ix.dns.list = append(ix.dns.list, s)
		ix.DNSServices[s.ID] = s
		for _, f := range s.Names {
			if _, err := ix.dns.names.Add(f.Value, n); err != nil {
				add(Pos{s.Pos.File, f.Line}, "%s name %s: %v", what, f.Value, err)
			}
		}
		for _, p := range s.Prefixes {
			ix.dns.addrs.Insert(p, n)
		}
	}
}

// normAddr accepts an address (a /32 or /128) or a prefix.
func normAddr(v string) (string, error) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return "", errors.New("not an address or prefix")
	}
	if p.Masked() != p {
		return "", fmt.Errorf("host bits set; write %s", p.Masked())
	}
	return p.String(), nil
}

// DNSServiceList is every DNS service, sorted by id.
func (ix *Index) DNSServiceList() []*DNSService { return ix.dns.list }

// LookupDNSServiceName finds the DNS service a hostname belongs to: the
// name or a name under it. It does not allocate.
func (ix *Index) LookupDNSServiceName(name string) *DNSService {
	var buf [domainset.MaxName + 1]byte
	b, ok := domainset.Normalize(buf[:0], name)
	if !ok || ix.dns.names == nil {
		return nil
	}
	if v, _, ok := ix.dns.names.Lookup(b); ok {
		return ix.dns.list[v]
	}
	return nil
}

// LookupDNSServiceAddr finds the DNS service that answers at an address.
func (ix *Index) LookupDNSServiceAddr(a netip.Addr) *DNSService {
	if v, ok := ix.dns.addrs.Lookup(a.Unmap()); ok {
		return ix.dns.list[v]
	}
	return nil
}
