package neigh

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
)

// MAC is a 48-bit hardware address.
type MAC = [6]byte

// atfCom is the flag of a complete entry (linux/if_arp.h ATF_COM).
const atfCom = 0x02

// ParseARP reads the kernel's IPv4 neighbour table in the format of
// /proc/net/arp:
//
//	IP address       HW type     Flags       HW address            Mask     Device
//	192.168.1.20     0x1         0x2         a4:c1:38:12:34:56     *        eth0
//
// and calls visit for every complete entry with a 6-byte MAC. Incomplete
// entries (flags without 0x2, the zero MAC) and lines it cannot read are
// skipped.
func ParseARP(b []byte, visit func(netip.Addr, MAC)) {
	for line := range bytes.Lines(b) { // each with its newline, which Fields and TrimSpace drop
		f := bytes.Fields(line)
		if len(f) < 4 {
			continue
		}
		ip, err := netip.ParseAddr(string(f[0]))
		if err != nil || !ip.Is4() {
			continue // the header, or junk
		}
		flags, err := strconv.ParseUint(string(bytes.TrimPrefix(f[2], []byte("0x"))), 16, 32)
		if err != nil || flags&atfCom == 0 {
			continue
		}
		m, ok := parseMAC(f[3])
		if !ok {
			continue
		}
		visit(ip, m)
	}
}

// parseMAC reads a 6-byte MAC that is not zero.
func parseMAC(b []byte) (MAC, bool) {
	var m MAC
	if len(b) != 17 {
		return m, false
	}
	hw, err := net.ParseMAC(string(b))
	if err != nil || len(hw) != 6 {
		return m, false
	}
	copy(m[:], hw)
	return m, m != MAC{}
}
