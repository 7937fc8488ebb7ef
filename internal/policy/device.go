package policy

import (
	"fmt"
	"net"
	"path"
	"strings"
)

// MAC is a 48-bit hardware address; the zero MAC is unknown.
type MAC [6]byte

// String writes the MAC as aa:bb:cc:dd:ee:ff.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// OUI is the vendor prefix of a MAC, its first three bytes.
type OUI [3]byte

// OUI is the MAC's vendor prefix.
func (m MAC) OUI() OUI { return OUI{m[0], m[1], m[2]} }

// ParseMAC reads a whole MAC (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or
// aabb.ccdd.eeff) or, when prefix is allowed, an OUI (aa:bb:cc or
// aa-bb-cc). n is 6 for a MAC, 3 for an OUI.
func ParseMAC(s string) (m MAC, n int, err error) {
	s = strings.TrimSpace(s)
	if len(s) == 8 && (s[2] == ':' || s[2] == '-') && s[5] == s[2] {
		hw, err := net.ParseMAC(s + s[2:3] + "00" + s[2:3] + "00" + s[2:3] + "00")
		if err != nil {
			return m, 0, err
		}
		copy(m[:], hw)
		return m, 3, nil
	}
	hw, err := net.ParseMAC(s)
	if err != nil {
		return m, 0, err
	}
	if len(hw) != 6 {
		return m, 0, fmt.Errorf("%d bytes: a MAC has 6", len(hw))
	}
	copy(m[:], hw)
	return m, 6, nil
}

// deviceSelectors compiles a group's macs and hostnames, each problem
// reported at the line of its item.
func (c *compiler) deviceSelectors(g *Group, macs, hosts []string, line func(key string, i int) int) {
	for i, s := range macs {
		m, n, err := ParseMAC(s)
		switch {
		case err != nil:
			c.add(line("macs", i), "group %s: %q is not a MAC address (aa:bb:cc:dd:ee:ff) or vendor prefix (aa:bb:cc)", g.Name, s)
			continue
		case m[0]&1 != 0:
			c.add(line("macs", i), "group %s: %q is a multicast address, never a client's", g.Name, s)
			continue
		case n == 3 && m[0]&2 != 0:
			// A locally administered prefix is no vendor's: phones'
			// private (random) addresses have that bit.
			c.add(line("macs", i), "group %s: %q is a locally administered prefix, not a vendor's OUI: give whole MACs for such addresses", g.Name, s)
			continue
		case m == MAC{}:
			c.add(line("macs", i), "group %s: %q is the zero MAC", g.Name, s)
			continue
		}
		if n == 3 {
			g.OUIs = append(g.OUIs, m.OUI())
		} else {
			g.MACs = append(g.MACs, m)
		}
	}
	for i, s := range hosts {
		h, ok := hostPattern(s)
		if !ok {
			c.add(line("hostnames", i), "group %s: hostname %q: use letters, digits, '-', '_' and '.', with '*' for any characters and '?' for one", g.Name, s)
			continue
		}
		g.Hostnames = append(g.Hostnames, h)
	}
}

// hostPattern is the canonical form of a hostnames item: lowercase, no
// trailing dot; '*' and '?' are the only wildcards.
func hostPattern(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" || len(s) > 253 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '*', c == '?':
		default:
			return "", false
		}
	}
	if strings.Contains(s, "..") || s == "." {
		return "", false
	}
	return s, true
}

// isGlob reports a hostnames item with a wildcard.
func isGlob(s string) bool { return strings.ContainsAny(s, "*?") }

// HasDeviceGroups reports whether a group selects clients by MAC or
// hostname: only then need the resolver learn them.
func (p *Policy) HasDeviceGroups() bool { return p.hasDevice }

// deviceGroups are the groups of a client's MAC and hostname (lowercase,
// without trailing dot). Globs are tried one by one: the resolver asks this
// when its table of clients is refreshed, not per query.
func (p *Policy) deviceGroups(mac MAC, host string) GroupSet {
	var s GroupSet
	if mac != (MAC{}) {
		s = s.or(p.macs[mac]).or(p.ouis[mac.OUI()])
	}
	if host != "" {
		s = s.or(p.hosts[host])
		for _, g := range p.hostGlobs {
			if ok, _ := path.Match(g.pattern, host); ok {
				s = s.or(g.set)
			}
		}
	}
	return s
}

type hostGlob struct {
	pattern string
	set     GroupSet
}

// Or is the union of two memberships: a client's groups by address and
// those by MAC and hostname, found apart.
func (m Membership) Or(o Membership) Membership { return Membership{m.set.or(o.set)} }
