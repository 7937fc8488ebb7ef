// Package indicator is what the enforcement exports (nftables, ipset,
// EDLs, Suricata, Zeek Intel, STIX) are written from: a name or an address
// prefix with the entity, lists, catalog rule, source and date behind it.
// The catalog command selects them; each format package only writes them.
//
// It must never import the catalog, a source or a command package: the
// exports stay plain writers that tests can feed by hand.
package indicator

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"go4.org/netipx"
)

// Indicator is one thing to match and why.
type Indicator struct {
	Domain     string       // a name and everything under it; empty for a prefix
	Prefix     netip.Prefix // valid for an address indicator
	Entity     string       // entity id
	EntityName string
	Lists      []string // ids of the official lists the entity's chain is on
	Rule       string   // catalog rule, e.g. "domain:tiktok.com", "prefix:71.18.0.0/16", "dns-service:volcengine-httpdns"
	Source     string   // source id
	SourceURL  string
	SourceDate string // date of the source document
	AsOf       string // when the fact was last seen true
	Unverified bool
}

// Header describes an export in its comments, where the format has them.
type Header struct {
	Title     string
	Generated time.Time
	Selection string
}

// Domains returns the name indicators sorted by name, one per name, and
// with subtree set drops names under another listed name.
func Domains(in []Indicator, subtree bool) []Indicator {
	by := map[string]Indicator{}
	for _, x := range in {
		if x.Domain == "" {
			continue
		}
		x.Domain = strings.TrimSuffix(strings.ToLower(x.Domain), ".")
		if _, ok := by[x.Domain]; !ok {
			by[x.Domain] = x
		}
	}
	out := make([]Indicator, 0, len(by))
	for n, x := range by {
		if subtree && covered(n, by) {
			continue
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

func covered(n string, by map[string]Indicator) bool {
	for {
		i := strings.IndexByte(n, '.')
		if i < 0 {
			return false
		}
		n = n[i+1:]
		if _, ok := by[n]; ok {
			return true
		}
	}
}

// Prefixes returns the address indicators sorted, one per prefix, and
// without prefixes inside another listed one (the first claim wins).
func Prefixes(in []Indicator) []Indicator {
	var ps []Indicator
	for _, x := range in {
		if x.Domain == "" && x.Prefix.IsValid() {
			x.Prefix = netip.PrefixFrom(x.Prefix.Addr().Unmap(), min(x.Prefix.Bits(), x.Prefix.Addr().Unmap().BitLen())).Masked()
			ps = append(ps, x)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Prefix, ps[j].Prefix
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c < 0
		}
		return a.Bits() < b.Bits()
	})
	out := ps[:0]
	for _, x := range ps {
		if n := len(out); n > 0 && out[n-1].Prefix.Overlaps(x.Prefix) && out[n-1].Prefix.Bits() <= x.Prefix.Bits() {
			continue
		}
		out = append(out, x)
	}
	return out
}

// Merged is the smallest set of prefixes covering the address indicators,
// IPv4 then IPv6: what firewall sets load without overlapping intervals.
func Merged(in []Indicator) (v4, v6 []netip.Prefix) {
	var b netipx.IPSetBuilder
	for _, x := range Prefixes(in) {
		b.AddPrefix(x.Prefix)
	}
	s, _ := b.IPSet() // the builder only fails on invalid input, which Prefixes dropped
	for _, p := range s.Prefixes() {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return v4, v6
}

// Label names the entity and its lists for a rule message: "bytedance
// (ByteDance Ltd.; lists fcc-covered, dod-1260h)".
func (x Indicator) Label() string {
	s := x.Entity
	if x.EntityName != "" {
		s += " (" + x.EntityName
	} else {
		s += " ("
	}
	if len(x.Lists) > 0 {
		if x.EntityName != "" {
			s += "; "
		}
		s += "lists " + strings.Join(x.Lists, ", ")
	} else {
		if x.EntityName != "" {
			s += "; "
		}
		s += "on no list"
	}
	return s + ")"
}
