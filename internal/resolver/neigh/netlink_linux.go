package neigh

import (
	"net/netip"
	"syscall"
)

// ipv6Neighbours dumps the kernel's IPv6 neighbour table over netlink
// (what `ip -6 neigh` shows).
func ipv6Neighbours(visit func(netip.Addr, MAC)) error {
	b, err := syscall.NetlinkRIB(syscall.RTM_GETNEIGH, syscall.AF_INET6)
	if err != nil {
		return err
	}
	return parseNeighDump(b, visit)
}
