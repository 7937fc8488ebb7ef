// Package neigh learns who the resolver's clients are beyond their
// addresses: the MAC of an address from the kernel's neighbour table
// (/proc/net/arp for IPv4, netlink for IPv6 on Linux) and its hostname
// (and MAC) from DHCP lease files (dnsmasq, ISC dhcpd), for policy groups
// by MAC and hostname. Every parser takes untrusted input: it skips what
// it cannot read and never panics.
//
// It is a source: it turns files into records, and must never import the
// policy, the resolver or any sink.
package neigh
