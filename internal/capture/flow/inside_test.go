package flow

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// The device of a flow whose ends are both or neither inside, when no
// handshake says who began: the receiver of a packet from a likely server
// port to a port that is not; otherwise the sender. A handshake still
// decides, and an inside end always does.
func TestDeviceByPorts(t *testing.T) {
	cases := []struct {
		name string
		p    *decode.Packet
		dev  string
	}{
		{"tcp mid-stream from 443", tcp("203.0.113.5", "198.51.100.7", 443, 40000, 1, decode.ACK, []byte("x")), "198.51.100.7"},
		{"tcp mid-stream from 5223", tcp("203.0.113.5", "198.51.100.7", 5223, 40000, 1, decode.ACK, []byte("x")), "198.51.100.7"},
		{"tcp mid-stream from 8883", tcp("203.0.113.5", "198.51.100.7", 8883, 40000, 1, decode.ACK, nil), "198.51.100.7"},
		{"tcp mid-stream from 8080, both inside", tcp("10.0.0.2", "10.0.0.9", 8080, 50000, 1, decode.ACK, []byte("x")), "10.0.0.9"},
		{"udp from 8000 (OICQ)", udp("203.0.113.5", "198.51.100.7", 8000, 4000, []byte("x")), "198.51.100.7"},
		{"udp from 3478 (STUN)", udp("203.0.113.5", "198.51.100.7", 3478, 61000, []byte("x")), "198.51.100.7"},
		{"udp from 53, as before", udp("203.0.113.5", "198.51.100.7", 53, 61000, []byte("x")), "198.51.100.7"},
		{"udp between two server ports: the sender", udp("203.0.113.5", "198.51.100.7", 123, 5353, []byte("x")), "203.0.113.5"},
		{"udp to a server port: the sender", udp("198.51.100.7", "203.0.113.5", 61000, 3478, []byte("x")), "198.51.100.7"},
		{"tcp SYN from 443: the handshake decides", tcp("203.0.113.5", "198.51.100.7", 443, 40000, 1, decode.SYN, nil), "203.0.113.5"},
		{"tcp SYN-ACK first", tcp("203.0.113.5", "198.51.100.7", 40000, 443, 1, decode.SYN|decode.ACK, nil), "198.51.100.7"},
		{"one end inside: the inside end", tcp("192.168.1.5", "203.0.113.5", 443, 40000, 1, decode.ACK, []byte("x")), "192.168.1.5"},
		{"one end inside, from the outside server", tcp("203.0.113.5", "192.168.1.5", 443, 40000, 1, decode.ACK, []byte("x")), "192.168.1.5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, out := collect(DefaultConfig())
			tr.Packet(tc.p, 60, t0)
			tr.Flush()
			if len(*out) != 1 || (*out)[0].Device.String() != tc.dev {
				t.Errorf("flows %+v, want the device %s", *out, tc.dev)
			}
		})
	}
}

// A phone with a carrier's public address: once it has talked to 4
// servers it is the capture's hub, and the device of a connection a
// server opens to it (a handshake overruled). A public server answering
// many clients becomes the device of its flows from its 4th client on.
func TestDeviceIsTheHub(t *testing.T) {
	t.Run("phone", func(t *testing.T) {
		tr, out := collect(DefaultConfig())
		phone := "198.51.100.7"
		for i := range 4 {
			tr.Packet(tcp(phone, fmt.Sprintf("203.0.113.%d", i+1), uint16(40000+i), 443, 1, decode.SYN, nil), 60, t0)
		}
		// a push server opens a connection to the phone
		tr.Packet(tcp("203.0.113.9", phone, 41000, 7000, 1, decode.SYN, nil), 60, t0)
		tr.Flush()
		for _, f := range *out {
			if f.Device.String() != phone {
				t.Errorf("flow %s:%d - %s:%d: device %s, want the phone", f.Device, f.DevicePort, f.Peer, f.PeerPort, f.Device)
			}
		}
	})
	t.Run("server", func(t *testing.T) {
		tr, out := collect(DefaultConfig())
		server := "203.0.113.80"
		for i := range 10 {
			tr.Packet(tcp(fmt.Sprintf("198.51.100.%d", i+1), server, uint16(50000+i), 443, 1, decode.SYN, nil), 60, t0)
		}
		tr.Flush()
		devs := map[string]int{}
		for _, f := range *out {
			devs[f.Device.String()]++
		}
		// the first 3 flows are decided before the server has 4 counterparts
		if devs[server] != 7 || len(devs) != 4 {
			t.Errorf("devices %v, want the server of 7 flows and the first 3 clients", devs)
		}
	})
	t.Run("both inside: no hub", func(t *testing.T) {
		tr, out := collect(DefaultConfig())
		for i := range 10 {
			tr.Packet(tcp(fmt.Sprintf("192.168.1.%d", i+10), "192.168.1.2", uint16(50000+i), 445, 1, decode.SYN, nil), 60, t0)
		}
		tr.Flush()
		for _, f := range *out {
			if f.Device.String() == "192.168.1.2" {
				t.Errorf("the LAN's file server is the device of %+v", f)
			}
		}
	})
	t.Run("no vantage point: a link of many clients and servers", func(t *testing.T) {
		tr, out := collect(DefaultConfig())
		// 12 clients each to a popular server and 2 others: the popular
		// one has 4 times the counterparts of each client from its 4th
		// on, but takes part in a third of the flows
		for i := range 12 {
			c := fmt.Sprintf("198.51.100.%d", i+1)
			tr.Packet(tcp(c, "203.0.113.1", uint16(50000+i), 443, 1, decode.SYN, nil), 60, t0)
			tr.Packet(tcp(c, fmt.Sprintf("203.0.113.%d", 2+i%4), uint16(51000+i), 443, 1, decode.SYN, nil), 60, t0)
			tr.Packet(tcp(c, fmt.Sprintf("203.0.113.%d", 6+i%4), uint16(52000+i), 443, 1, decode.SYN, nil), 60, t0)
		}
		tr.Flush()
		for _, f := range *out {
			if f.Device.As4()[0] != 198 {
				t.Errorf("flow %+v: a server is the device", f)
			}
		}
	})
	t.Run("multicast is no hub", func(t *testing.T) {
		tr, out := collect(DefaultConfig())
		for i := range 10 {
			tr.Packet(udp(fmt.Sprintf("198.51.100.%d", i+1), "239.255.255.250", 1900, 1900, []byte("M-SEARCH")), 60, t0)
		}
		tr.Flush()
		for _, f := range *out {
			if f.Device.IsMulticast() {
				t.Errorf("flow %+v: the group is the device", f)
			}
		}
	})
}

// The hub counts are bounded: past maxHubAddrs addresses, new ones are
// not added, past maxHubPairs pairs none is; a hub found before stays one.
func TestHubsBounded(t *testing.T) {
	var h hubs
	hub := netip.MustParseAddr("203.0.113.80")
	for i := range maxHubPairs + 100 {
		h.note(hub, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if len(h.m) != maxHubAddrs || len(h.pairs) != maxHubPairs {
		t.Errorf("%d addresses and %d pairs counted, want the bounds %d and %d", len(h.m), len(h.pairs), maxHubAddrs, maxHubPairs)
	}
	if e := h.m[keyOf(hub)]; e.peers != maxHubPairs || e.flows != maxHubPairs+100 {
		t.Errorf("the hub: %+v, want %d counterparts and %d flows", e, maxHubPairs, maxHubPairs+100)
	}
	late := netip.AddrFrom4([4]byte{11, 0, 0, 1})
	h.note(hub, late)
	if got, ok := h.hub(hub, late); !ok || got != hub {
		t.Errorf("hub of a late address: %v %v, want %s", got, ok, hub)
	}
	// counterparts are distinct: a second flow of a pair adds none
	var g hubs
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.1")
	g.note(a, b)
	g.note(b, a)
	if e := g.m[keyOf(a)]; e.peers != 1 || e.flows != 2 {
		t.Errorf("after two flows of one pair: %+v, want 1 counterpart, 2 flows", e)
	}
}

// Orienting a flow by the hub costs nothing per packet: the decision is
// made once, when the flow is created.
func TestHubsOnlyAtCreation(t *testing.T) {
	tr, _ := collect(DefaultConfig())
	p := tcp("203.0.113.5", "198.51.100.7", 443, 40000, 1, decode.ACK, []byte("x"))
	for range 100 {
		tr.Packet(p, 60, t0.Add(time.Millisecond))
	}
	if e := tr.hubs.m[keyOf(netip.MustParseAddr("198.51.100.7"))]; e.flows != 1 {
		t.Errorf("the phone's flows counted %d times, want once", e.flows)
	}
}
