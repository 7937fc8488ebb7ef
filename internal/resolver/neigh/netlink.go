package neigh

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Netlink constants of linux/netlink.h and linux/neighbour.h, written out
// so that the parser builds (and is fuzzed) on every system.
const (
	nlmsgHdrLen   = 16
	nlmsgDone     = 3
	nlmsgError    = 2
	rtmNewNeigh   = 28
	ndMsgLen      = 12
	ndaDst        = 1
	ndaLLAddr     = 2
	nudIncomplete = 0x01
	nudFailed     = 0x20
	nudNoARP      = 0x40
)

var errNetlink = errors.New("netlink: error message")

// parseNeighDump reads the messages of an RTM_GETNEIGH dump (host byte
// order) and calls visit for each neighbour whose link-layer address is a
// MAC and whose state is usable (not incomplete, failed or no-ARP).
func parseNeighDump(b []byte, visit func(netip.Addr, MAC)) error {
	be := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		n := int(be.Uint32(b[0:4]))
		typ := be.Uint16(b[4:6])
		if n < nlmsgHdrLen || n > len(b) {
			return errors.New("netlink: truncated message")
		}
		body := b[nlmsgHdrLen:n]
		b = b[min(align4(n), len(b)):]
		switch typ {
		case nlmsgDone:
			return nil
		case nlmsgError:
			return errNetlink
		case rtmNewNeigh:
		default:
			continue
		}
		if len(body) < ndMsgLen {
			continue
		}
		state := be.Uint16(body[8:10])
		if state&(nudIncomplete|nudFailed|nudNoARP) != 0 || state == 0 {
			continue
		}
		var ip netip.Addr
		var m MAC
		hasMAC := false
		for a := body[ndMsgLen:]; len(a) >= 4; {
			l := int(be.Uint16(a[0:2]))
			if l < 4 || l > len(a) {
				break
			}
			data := a[4:l]
			switch be.Uint16(a[2:4]) {
			case ndaDst:
				ip, _ = netip.AddrFromSlice(data)
			case ndaLLAddr:
				if len(data) == 6 {
					copy(m[:], data)
					hasMAC = m != MAC{}
				}
			}
			a = a[min(align4(l), len(a)):]
		}
		if ip.IsValid() && hasMAC {
			visit(ip.Unmap(), m)
		}
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }
