package flow

import (
	"encoding/binary"
	"net/netip"
)

// hubs counts, for the flows of which neither end is inside, how many
// distinct counterparts each address has had and how many flows it took
// part in, so that the capture's vantage point can be told from the
// addresses it talks to: a phone with a carrier's public address talks to
// many servers, each of which (in that capture) talks only to the phone;
// a capture at a public server shows the server talking to many clients.
//
// It is cross-flow state of the tracker, read and written only when a flow
// is created, in capture order: a flow's orientation depends on the flows
// created before it. It is bounded: at most maxHubAddrs addresses (28
// bytes of key and value each) and maxHubPairs pairs (a 64-bit hash each),
// under 8 MB at worst, and nothing at all for a capture whose flows all
// have an inside end.
type hubs struct {
	m     map[hubKey]hubEntry
	pairs map[uint64]struct{} // the pairs of addresses seen, hashed
	flows [2]uint64           // flows noted, IPv4 and IPv6
}

// hubKey is an address as the map keys it: its 16 bytes and whether it
// is IPv4, without netip.Addr's zone pointer (addresses decoded from
// packets have no zone), so that a key is 17 bytes instead of 24 and the
// map has no pointer for the collector to scan: at its bound it was
// about 5 MB, the tracker's largest table on a capture of many addresses.
type hubKey struct {
	a  [16]byte
	v4 bool
}

func keyOf(a netip.Addr) hubKey { return hubKey{a.As16(), a.Is4()} }

// hubEntry is one address's distinct counterparts and flows.
type hubEntry struct {
	peers, flows uint32
}

// Bounds of the counts. Past maxHubAddrs, a new address counts as having
// no counterparts; past maxHubPairs, new pairs are not told from old ones
// and add no counterpart. Either way a hub found before stays one.
const (
	maxHubAddrs = 65_536
	maxHubPairs = 131_072
)

// Thresholds of the hub rule: the hub has at least hubMin counterparts,
// hubRatio times as many as the other end, and took part in more than half
// of the capture's flows of its address family without an inside end.
const (
	hubMin   = 4
	hubRatio = 4
)

// countable reports whether an address can be a flow's end for the hub
// rule: a group or broadcast address has many senders and is no device.
func countable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// note counts a new flow between a and b.
func (h *hubs) note(a, b netip.Addr) {
	if !countable(a) || !countable(b) || a == b {
		return
	}
	if h.m == nil {
		h.m, h.pairs = make(map[hubKey]hubEntry, 64), make(map[uint64]struct{}, 64)
	}
	h.flows[family(a)]++
	lo, hi := a, b
	if hi.Less(lo) {
		lo, hi = hi, lo
	}
	pk := mix(addrHash(lo) ^ (addrHash(hi) * 0x9e3779b97f4a7c15))
	newPair := false
	if _, ok := h.pairs[pk]; !ok && len(h.pairs) < maxHubPairs {
		h.pairs[pk] = struct{}{}
		newPair = true
	}
	h.add(a, newPair)
	h.add(b, newPair)
}

func (h *hubs) add(a netip.Addr, newPair bool) {
	k := keyOf(a)
	e, ok := h.m[k]
	if !ok && len(h.m) >= maxHubAddrs {
		return
	}
	if newPair {
		e.peers++
	}
	if e.flows < ^uint32(0) {
		e.flows++
	}
	h.m[k] = e
}

// hub returns the end of a flow between a and b that is the capture's
// hub, as of the flows noted so far (this one included), and false when
// neither clearly is.
func (h *hubs) hub(a, b netip.Addr) (netip.Addr, bool) {
	if h.m == nil {
		return netip.Addr{}, false
	}
	ea, eb := h.m[keyOf(a)], h.m[keyOf(b)]
	all := h.flows[family(a)]
	switch {
	case ea.peers >= hubMin && ea.peers >= hubRatio*eb.peers && 2*uint64(ea.flows) > all:
		return a, true
	case eb.peers >= hubMin && eb.peers >= hubRatio*ea.peers && 2*uint64(eb.flows) > all:
		return b, true
	}
	return netip.Addr{}, false
}

// addrHash hashes an address with a fixed function, so that a capture
// scanned twice is oriented the same way.
func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	return mix(binary.BigEndian.Uint64(b[:8]) ^ mix(binary.BigEndian.Uint64(b[8:])+0x632be59bd9b4e019))
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
