package flowrec

import (
	"net/netip"
	"testing"
)

func TestOrient(t *testing.T) {
	in := netip.MustParseAddr("10.0.0.5")
	out := netip.MustParseAddr("203.0.113.9")
	other := netip.MustParseAddr("198.51.100.1")
	local := DefaultLocal()
	tests := []struct {
		name       string
		dev, peer  netip.Addr
		wantDevice netip.Addr
		wantOut    uint64
	}{
		{"device inside", in, out, in, 100},
		{"peer inside swaps", out, in, in, 7},
		{"neither inside keeps initiator", out, other, out, 100},
		{"both inside keeps initiator", in, netip.MustParseAddr("192.168.1.1"), in, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Flow{Device: tc.dev, Peer: tc.peer, DevicePort: 1, PeerPort: 2, BytesOut: 100, BytesIn: 7, PacketsOut: 3, PacketsIn: 1}
			f.Orient(local.Contains)
			if f.Device != tc.wantDevice || f.BytesOut != tc.wantOut {
				t.Fatalf("device %v out %d, want %v %d", f.Device, f.BytesOut, tc.wantDevice, tc.wantOut)
			}
			if f.BytesOut+f.BytesIn != 107 || f.PacketsOut+f.PacketsIn != 4 {
				t.Fatalf("counters lost: %+v", f)
			}
			if f.Device == tc.dev && (f.DevicePort != 1 || f.PacketsOut != 3) || f.Device != tc.dev && (f.DevicePort != 2 || f.PacketsOut != 1) {
				t.Fatalf("ports or packets not swapped with the ends: %+v", f)
			}
		})
	}
}

func TestDeviceID(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.5")
	if got := DeviceID("", a); got != "10.0.0.5" {
		t.Errorf("no site: %q", got)
	}
	f := Flow{Site: "branch-2", Device: a}
	if got := f.DeviceID(); got != "branch-2/10.0.0.5" {
		t.Errorf("site: %q", got)
	}
	if Hidden(200).String() != "hidden" || HiddenDoQ.String() != "dns-over-quic" {
		t.Error("hidden names")
	}
}

// ParseDeviceID undoes DeviceID, and refuses IDs that name no address.
func TestParseDeviceID(t *testing.T) {
	for _, tc := range []struct {
		site, addr string
	}{{"", "10.0.0.5"}, {"hq", "10.0.0.5"}, {"eu/fra-1", "2001:db8::1"}} {
		a := netip.MustParseAddr(tc.addr)
		site, got, ok := ParseDeviceID(DeviceID(tc.site, a))
		if !ok || site != tc.site || got != a {
			t.Errorf("%q %s: parsed %q %v %v", tc.site, tc.addr, site, got, ok)
		}
	}
	if _, _, ok := ParseDeviceID("intune:ABC-123"); ok {
		t.Error("an inventory ID parsed as an address")
	}
}
