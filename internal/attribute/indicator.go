package attribute

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// reverseDNSRoots are first labels that make a dotted name read as a Java
// package or bundle id (com.tencent.mm) rather than a hostname.
var reverseDNSRoots = map[string]bool{"com": true, "cn": true, "org": true, "net": true, "io": true, "me": true, "tv": true, "co": true, "de": true, "uk": true, "jp": true, "kr": true, "sg": true, "ly": true, "in": true, "android": true, "androidx": true, "edu": true}

// Lookup attributes one indicator typed by a user: a hostname, an IPv4 or
// IPv6 address, an AS number (AS11983), a MAC address, an Android package
// or iOS bundle id, a Java class or package (dotted or L...;), or an explicit
// "host:", "ip:", "asn:", "mac:", "app:", "sdk:", "cert:", "program:" prefix.
// It returns the attribution and the kind of indicator it was read as.
func (at *Attributor) Lookup(ind string) (Attribution, string) {
	ind = strings.TrimSpace(ind)
	if k, v, ok := strings.Cut(ind, ":"); ok {
		switch strings.ToLower(k) {
		case "host", "name", "domain":
			return at.Name(Hostname, v), "hostname"
		case "ip", "addr":
			if ip, err := netip.ParseAddr(v); err == nil {
				return at.Addr(ip), "address"
			}
			return Attribution{}, "address"
		case "asn":
			return at.asn(v), "asn"
		case "mac":
			if hw, err := net.ParseMAC(v); err == nil {
				a := at.MAC(hw)
				a.Value = v
				return a, "mac"
			}
			return Attribution{}, "mac"
		case "app":
			return at.App(v), "app"
		case "sdk", "class":
			return at.Class(v), "class"
		case "cert", "org":
			return at.CertOrg(v), "cert-subject"
		case "program", "publisher":
			return at.Program(v), "program"
		}
	}
	if ip, err := netip.ParseAddr(ind); err == nil {
		return at.Addr(ip), "address"
	}
	if hw, err := net.ParseMAC(ind); err == nil && len(hw) == 6 {
		a := at.MAC(hw)
		a.Value = ind
		return a, "mac"
	}
	if u := strings.ToUpper(ind); strings.HasPrefix(u, "AS") {
		if _, err := strconv.ParseUint(u[2:], 10, 32); err == nil {
			return at.asn(ind), "asn"
		}
	}
	if strings.HasPrefix(ind, "L") && strings.HasSuffix(ind, ";") || strings.Contains(ind, "/") {
		return at.Class(ind), "class"
	}
	first, _, _ := strings.Cut(ind, ".")
	reverse := reverseDNSRoots[strings.ToLower(first)] && strings.Count(ind, ".") >= 2
	if reverse {
		if a := at.App(ind); a.Found() {
			return a, "app"
		}
		if a := at.Class(ind); a.Found() {
			return a, "class"
		}
	}
	if a := at.Name(Hostname, ind); a.Found() {
		return a, "hostname"
	}
	if a := at.App(ind); a.Found() {
		return a, "app"
	}
	if reverse {
		if strings.ToLower(ind) != ind {
			return Attribution{}, "class" // Java classes have capitals
		}
		return Attribution{}, "app"
	}
	if strings.Contains(ind, " ") {
		if a := at.CertOrg(ind); a.Found() {
			return a, "cert-subject"
		}
		return at.Program(ind), "program"
	}
	return Attribution{}, "hostname"
}

func (at *Attributor) asn(v string) Attribution {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
	if err != nil {
		return Attribution{}
	}
	a := at.from(at.ix.LookupASN(uint32(n)), ASN, "AS"+strconv.FormatUint(n, 10))
	return a
}
