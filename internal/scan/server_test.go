package scan

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

// A device that serves most of its flows on its own well-known port is
// reported as looking like a server, with a warning that says how to name
// the inside; a client of the same servers is not (issue 15).
func TestLooksLikeServer(t *testing.T) {
	s := New(DefaultConfig(), attribute.New(openCatalog(t)))
	server, client := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("192.168.1.20")
	for i := range 30 {
		peer := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		// public clients opening connections to the inside server
		s.sink(&flowrec.Flow{Device: server, DevicePort: 443, Peer: peer, PeerPort: uint16(40000 + i), Proto: flowrec.TCP, BytesOut: 900, BytesIn: 100, First: 1, Last: 2})
		// an inside client of outside servers
		s.sink(&flowrec.Flow{Device: client, DevicePort: uint16(50000 + i), Peer: peer, PeerPort: 443, Proto: flowrec.TCP, BytesOut: 100, BytesIn: 900, First: 1, Last: 2})
	}
	rep := s.Finish(testAt)
	got := map[string]Server{}
	for _, d := range rep.Devices {
		if d.LooksLikeServer != nil {
			got[d.Address] = *d.LooksLikeServer
		}
	}
	if want := map[string]Server{"10.0.0.5": {Port: 443, Proto: "tcp", Peers: 30, Served: 30, Flows: 30}}; !reflect.DeepEqual(got, want) {
		t.Errorf("looks like a server: %+v; want %+v", got, want)
	}
	warned := false
	for _, w := range rep.Warnings {
		if strings.HasPrefix(w, "10.0.0.5 answered 30 of its 30 flows on its own server ports (30 peers, most on 443/tcp)") && strings.Contains(w, "--local") {
			warned = true
		}
		if strings.HasPrefix(w, "192.168.1.20") {
			t.Errorf("warning for the client: %s", w)
		}
	}
	if !warned {
		t.Errorf("no server warning in %q", rep.Warnings)
	}
}

// The mark's thresholds: at least 2 of 3 flows answered on the device's
// server ports (443, 8883, 3478 and the like, from peers' ephemeral
// ports), from at least 3 peers.
func TestLooksLikeServerThresholds(t *testing.T) {
	type fl struct {
		devPort, peerPort uint16
		peer              byte
		proto             uint8
	}
	cases := []struct {
		name  string
		flows []fl
		want  *Server
	}{
		{"3 peers on 8883", []fl{{8883, 50000, 1, flowrec.TCP}, {8883, 50001, 2, flowrec.TCP}, {8883, 50002, 3, flowrec.TCP}},
			&Server{Port: 8883, Proto: "tcp", Peers: 3, Served: 3, Flows: 3}},
		{"2 peers: no", []fl{{443, 50000, 1, flowrec.TCP}, {443, 50001, 2, flowrec.TCP}, {443, 50002, 2, flowrec.TCP}}, nil},
		{"2 of 3: yes, most on 3478/udp", []fl{{3478, 50000, 1, flowrec.UDP}, {3478, 50001, 2, flowrec.UDP}, {443, 50002, 3, flowrec.TCP}, {50003, 443, 4, flowrec.TCP}, {3478, 50004, 5, flowrec.UDP}, {50005, 53, 6, flowrec.UDP}},
			&Server{Port: 3478, Proto: "udp", Peers: 4, Served: 4, Flows: 6}},
		{"3 of 5: no", []fl{{443, 50000, 1, flowrec.TCP}, {443, 50001, 2, flowrec.TCP}, {443, 50002, 3, flowrec.TCP}, {50003, 443, 4, flowrec.TCP}, {50004, 443, 5, flowrec.TCP}}, nil},
		{"between server ports (mDNS, NTP): no", []fl{{5353, 5353, 1, flowrec.UDP}, {123, 123, 2, flowrec.UDP}, {5353, 5353, 3, flowrec.UDP}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s serving
			for _, f := range tc.flows {
				s.add(&flowrec.Flow{Device: netip.MustParseAddr("203.0.113.80"), DevicePort: f.devPort,
					Peer: netip.AddrFrom4([4]byte{198, 51, 100, f.peer}), PeerPort: f.peerPort, Proto: f.proto})
			}
			if got := s.mark(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("mark %+v, want %+v", got, tc.want)
			}
		})
	}
}
