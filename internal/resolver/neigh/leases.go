package neigh

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
)

// Lease is what a DHCP lease says of an address. Zero fields are unknown.
type Lease struct {
	Addr     netip.Addr
	MAC      MAC
	Hostname string // lowercase, no trailing dot
}

// ParseLeases reads a lease file of dnsmasq or of ISC dhcpd, told apart
// by their first line that is not a comment, and calls visit for each
// lease in force at now.
func ParseLeases(b []byte, now time.Time, visit func(Lease)) {
	if isDnsmasq(b) {
		ParseDnsmasq(b, now, visit)
		return
	}
	ParseDhcpd(b, now, visit)
}

func isDnsmasq(b []byte) bool {
	for line := range bytes.Lines(b) { // each with its newline, which Fields and TrimSpace drop
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return line[0] >= '0' && line[0] <= '9' || bytes.HasPrefix(line, []byte("duid "))
	}
	return false
}

// ParseDnsmasq reads dnsmasq's lease file (dhcp.leases), one lease a
// line:
//
//	EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID      (DHCPv4)
//	duid SERVER-DUID
//	EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID   (DHCPv6, after the duid line)
//
// EXPIRY is a Unix time, 0 for an infinite lease; HOSTNAME is "*" when
// the client gave none. A DHCPv6 lease carries no MAC. Leases expired at
// now and lines it cannot read are skipped.
func ParseDnsmasq(b []byte, now time.Time, visit func(Lease)) {
	for line := range bytes.Lines(b) { // each with its newline, which Fields and TrimSpace drop
		f := bytes.Fields(line)
		if len(f) < 4 {
			continue
		}
		exp, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || exp < 0 || (exp != 0 && exp <= now.Unix()) {
			continue
		}
		ip, err := netip.ParseAddr(string(f[2]))
		if err != nil || ip.Zone() != "" {
			continue
		}
		l := Lease{Addr: ip.Unmap(), Hostname: cleanHost(f[3])}
		if l.Addr.Is4() {
			l.MAC, _ = parseMAC(f[1]) // another hardware type ("6-..."): no MAC
		}
		if l.Hostname == "" && l.MAC == (MAC{}) {
			continue
		}
		visit(l)
	}
}

// cleanHost is a client's name as groups match it, or "" for none ("*")
// or for one with bytes no hostname has: a client chooses its name.
func cleanHost(b []byte) string {
	b = bytes.TrimSuffix(b, []byte("."))
	if len(b) == 0 || len(b) > 253 {
		return ""
	}
	out := make([]byte, len(b))
	prevDot := true
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if prevDot {
				return ""
			}
		default:
			return ""
		}
		prevDot = c == '.'
		out[i] = c
	}
	if prevDot {
		return "" // "name.." : an empty last label
	}
	return string(out)
}

// ParseDhcpd reads ISC dhcpd's lease database (dhcpd.leases(5)): a log of
// lease statements, the last one of an address in force:
//
//	lease 192.168.1.20 {
//	  starts 3 2026/12/02 10:00:00;
//	  ends 3 2026/12/02 22:00:00;
//	  binding state active;
//	  hardware ethernet a4:c1:38:12:34:56;
//	  client-hostname "kiosk-12";
//	}
//
// A lease whose binding state is not active, or which ended before now,
// takes its address out. Times are UTC ("W YYYY/MM/DD HH:MM:SS"), "epoch
// N" or "never". DHCPv6 leases (ia-na) and other statements are skipped.
func ParseDhcpd(b []byte, now time.Time, visit func(Lease)) {
	tz := tokenizer{b: b}
	leases := map[netip.Addr]Lease{}
	var order []netip.Addr
	for {
		t, ok := tz.next()
		if !ok {
			break
		}
		if string(t) != "lease" {
			tz.skipStatement(t)
			continue
		}
		addrTok, _ := tz.next()
		ip, err := netip.ParseAddr(string(addrTok))
		if open, _ := tz.next(); string(open) != "{" {
			tz.skipStatement(open)
			continue
		}
		l, active := tz.leaseBody(now)
		if err != nil || !ip.Is4() {
			continue
		}
		l.Addr = ip
		if _, seen := leases[ip]; !seen {
			order = append(order, ip)
		}
		if active && (l.Hostname != "" || l.MAC != MAC{}) {
			leases[ip] = l
		} else {
			leases[ip] = Lease{}
		}
	}
	for _, ip := range order {
		if l := leases[ip]; l.Addr.IsValid() {
			visit(l)
		}
	}
}

// leaseBody reads a lease's statements after its '{', to its '}'.
func (tz *tokenizer) leaseBody(now time.Time) (l Lease, active bool) {
	bound, ended := true, false
	for {
		t, ok := tz.next()
		if !ok || string(t) == "}" {
			return l, bound && !ended
		}
		switch string(t) {
		case ";":
			continue
		case "{":
			tz.skipBlock()
			continue
		}
		args := tz.statement()
		switch string(t) {
		case "binding":
			// "binding state X"; not "next binding state" nor "rewind
			// binding state", which start with another word.
			if len(args) == 2 && string(args[0]) == "state" {
				bound = string(args[1]) == "active"
			}
		case "ends":
			end, ok := dhcpdTime(args)
			ended = ok && !end.After(now)
		case "hardware":
			if len(args) == 2 && string(args[0]) == "ethernet" {
				l.MAC, _ = parseMAC(args[1])
			}
		case "client-hostname":
			if len(args) == 1 {
				l.Hostname = cleanHost(unquote(args[0]))
			}
		}
	}
}

// dhcpdTime reads "W YYYY/MM/DD HH:MM:SS" (UTC), "epoch N" and "never"
// (the zero time, which never ends).
func dhcpdTime(args [][]byte) (time.Time, bool) {
	switch {
	case len(args) == 1 && string(args[0]) == "never":
		return time.Time{}, false
	case len(args) == 2 && string(args[0]) == "epoch":
		n, err := strconv.ParseInt(string(args[1]), 10, 64)
		return time.Unix(n, 0), err == nil
	case len(args) == 3:
		t, err := time.Parse("2006/01/02 15:04:05", string(args[1])+" "+string(args[2]))
		return t, err == nil
	}
	return time.Time{}, false
}

func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

// tokenizer splits dhcpd's configuration syntax: words, quoted strings
// (kept with their quotes), and the punctuation '{', '}' and ';'.
type tokenizer struct {
	b []byte
	i int
}

func (tz *tokenizer) next() ([]byte, bool) {
	for tz.i < len(tz.b) {
		c := tz.b[tz.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			tz.i++
		case c == '#':
			for tz.i < len(tz.b) && tz.b[tz.i] != '\n' {
				tz.i++
			}
		case c == '{' || c == '}' || c == ';':
			tz.i++
			return tz.b[tz.i-1 : tz.i], true
		case c == '"':
			start := tz.i
			tz.i++
			for tz.i < len(tz.b) && tz.b[tz.i] != '"' {
				if tz.b[tz.i] == '\\' {
					tz.i++
				}
				tz.i++
			}
			tz.i = min(tz.i+1, len(tz.b))
			return tz.b[start:tz.i], true
		default:
			start := tz.i
			for tz.i < len(tz.b) {
				c := tz.b[tz.i]
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '{' || c == '}' || c == ';' || c == '"' || c == '#' {
					break
				}
				tz.i++
			}
			return tz.b[start:tz.i], true
		}
	}
	return nil, false
}

// statement returns the words of a simple statement up to its ';'. A
// block inside it ("on expiry { ... }") is skipped whole; the statement
// then has no words.
func (tz *tokenizer) statement() [][]byte {
	var args [][]byte
	for {
		t, ok := tz.next()
		if !ok {
			return nil
		}
		switch string(t) {
		case ";":
			return args
		case "}":
			tz.i-- // the enclosing block's end
			return nil
		case "{":
			tz.skipBlock()
			return nil
		}
		if len(args) < 8 {
			args = append(args, t)
		}
	}
}

// skipStatement skips a top-level statement that began with t: to its
// ';', or over its block.
func (tz *tokenizer) skipStatement(t []byte) {
	for {
		switch string(t) {
		case ";", "}":
			return
		case "{":
			tz.skipBlock()
			return
		}
		var ok bool
		if t, ok = tz.next(); !ok {
			return
		}
	}
}

// skipBlock skips to the '}' that closes a '{' just read.
func (tz *tokenizer) skipBlock() {
	depth := 1
	for depth > 0 {
		t, ok := tz.next()
		if !ok {
			return
		}
		switch string(t) {
		case "{":
			depth++
		case "}":
			depth--
		}
	}
}
