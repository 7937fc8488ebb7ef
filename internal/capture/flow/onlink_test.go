package flow

import (
	"net/netip"
	"testing"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// Addresses shown on the link (ARP, DHCP, IPv6 neighbour discovery) are
// inside from then on: a later flow takes them as the device even when
// the other end opened it; a flow begun before stays as it was. Probes,
// broadcast and addresses in the ranges are not marked.
func TestOnLinkLearnt(t *testing.T) {
	tr, out := collect(DefaultConfig())
	syn := func(src, dst string, sp, dp uint16) {
		tr.Packet(tcp(src, dst, sp, dp, 1, 0x02, nil), 60, t0)
	}
	// before anything showed 198.51.100.8 on the link
	syn("203.0.113.9", "198.51.100.8", 443, 40000)

	arp(tr, "198.51.100.8")
	arp(tr, "0.0.0.0")
	arp(tr, "192.168.1.9")
	na := make([]byte, 24)
	na[0] = 136
	copy(na[8:], netip.MustParseAddr("2001:db8:1::70").AsSlice())
	p := pkt("2001:db8:1::7", "ff02::1", 0, 0, 58, na)
	p.Proto, p.HopLimit = 58, 255
	tr.Packet(p, 86, t0)
	ns := make([]byte, 24)
	ns[0] = 135
	p = pkt("::", "ff02::1:ff00:71", 0, 0, 58, ns) // duplicate address detection: no sender yet
	p.Proto, p.HopLimit = 58, 255
	tr.Packet(p, 86, t0)
	// an advertisement that was routed (hop limit below 255): not on the link
	na2 := make([]byte, 24)
	na2[0] = 136
	copy(na2[8:], netip.MustParseAddr("2001:db8:9::90").AsSlice())
	p = pkt("2001:db8:9::9", "ff02::1", 0, 0, 58, na2)
	p.Proto, p.HopLimit = 58, 64
	tr.Packet(p, 86, t0)

	b := make([]byte, 240)
	b[0], b[1], b[2] = 2, 1, 6
	copy(b[16:20], []byte{192, 0, 2, 50})
	copy(b[236:240], "\x63\x82\x53\x63")
	b = append(b, 53, 1, 5, 255)
	tr.Packet(udp("192.0.2.1", "255.255.255.255", 67, 68, b), 342, t0)

	for a, want := range map[string]string{"198.51.100.8": "arp", "2001:db8:1::7": "ndp", "2001:db8:1::70": "ndp", "192.0.2.50": "dhcp",
		"2001:db8:9::9": "", "2001:db8:9::90": "",
		"0.0.0.0": "", "192.168.1.9": "", "255.255.255.255": "", "203.0.113.9": "", "::": ""} {
		if got := tr.OnLink(netip.MustParseAddr(a)); got != want {
			t.Errorf("OnLink(%s) = %q, want %q", a, got, want)
		}
	}
	if !tr.IsLocal(netip.MustParseAddr("198.51.100.8")) || tr.IsLocal(netip.MustParseAddr("203.0.113.9")) {
		t.Error("IsLocal does not follow what the link showed")
	}

	// after: the on-link end is the device, whoever opened (the flow on
	// 40000, begun before the ARP, keeps its opener)
	syn("203.0.113.9", "198.51.100.8", 443, 40001)
	syn("2001:db8:ffff::5", "2001:db8:1::7", 443, 40002)
	syn("203.0.113.10", "192.0.2.50", 5223, 40003)
	tr.Flush()
	devs := map[uint16]string{}
	for _, f := range *out {
		if f.Proto == TCP {
			devs[max(f.DevicePort, f.PeerPort)] = f.Device.String() // keyed by the client's port
		}
	}
	want := map[uint16]string{40000: "203.0.113.9", 40001: "198.51.100.8", 40002: "2001:db8:1::7", 40003: "192.0.2.50"}
	for port, dev := range want {
		if devs[port] != dev {
			t.Errorf("flow on port %d: device %q, want %q (flows %v)", port, devs[port], dev, *out)
		}
	}
	if tr.Stats.NotIP != 3 {
		t.Errorf("NotIP %d, want the 3 ARP messages", tr.Stats.NotIP)
	}
}

func arp(tr *Tracker, sender string) {
	tr.Packet(&decode.Packet{ARP: true, Src: netip.MustParseAddr(sender), Dst: netip.MustParseAddr("198.51.100.1")}, 42, t0)
}
