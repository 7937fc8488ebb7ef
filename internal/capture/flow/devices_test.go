package flow

import (
	"net/netip"
	"testing"
)

// The first MAC seen for an address stays; a DHCP message naming another
// replaces it with a slice of its own, and a slice handed out before keeps
// the MAC it had.
func TestDeviceMACFirstThenDHCP(t *testing.T) {
	ds := newDevices()
	a := netip.MustParseAddr("192.168.1.5")
	ds.mac(a, [6]byte{1, 2, 3, 4, 5, 6})
	ds.mac(a, [6]byte{9, 9, 9, 9, 9, 9})
	before := ds.Lookup(a).MAC
	if before.String() != "01:02:03:04:05:06" {
		t.Fatalf("MAC %s, want the first seen", before)
	}
	msg := make([]byte, 240)
	msg[1], msg[2] = 1, 6
	copy(msg[28:34], []byte{7, 7, 7, 7, 7, 7})
	copy(msg[16:20], a.AsSlice())
	copy(msg[236:240], "\x63\x82\x53\x63")
	msg = append(msg, 255)
	if got := ds.dhcp(msg); got != a {
		t.Fatalf("dhcp gave %v", got)
	}
	if got := ds.Lookup(a).MAC.String(); got != "07:07:07:07:07:07" {
		t.Errorf("after DHCP: %s", got)
	}
	if before.String() != "01:02:03:04:05:06" {
		t.Errorf("the MAC handed out before changed to %s", before)
	}
}
