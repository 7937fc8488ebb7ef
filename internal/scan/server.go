package scan

import (
	"fmt"
	"net/netip"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// Server says why a device looks like a server: most of its flows were
// answered on its own likely server ports (flowrec.LikelyServerPort) to
// its peers' ephemeral ones, so its peers are its clients rather than
// services it uses.
type Server struct {
	Port   uint16 `json:"port"`         // the port it answered most flows on
	Proto  string `json:"proto"`        // "tcp" or "udp"
	Peers  int    `json:"peers"`        // distinct peers answered on its server ports (counted up to maxServedPeers)
	Served int    `json:"served_flows"` // flows answered on its server ports
	Flows  int    `json:"flows"`        // all its flows
}

// A device looks like a server when it answered at least 2 of 3 of its
// flows on its server ports, from at least minServedPeers peers (a phone
// reached once by one peer is no server).
const (
	minServedPeers = 3
	maxServedPeers = 10_000
	maxServedPorts = 64
)

// serving counts, per device, the flows a device answered on its server
// ports. It is summed in the order flows finish, as the rest of a device.
type serving struct {
	all, served int
	ports       map[servedPort]int
	peers       map[netip.Addr]struct{}
}

type servedPort struct {
	proto uint8
	port  uint16
}

func (s *serving) add(f *flowrec.Flow) {
	s.all++
	if f.Proto != flowrec.TCP && f.Proto != flowrec.UDP || f.PeerPort == 0 || !flowrec.LikelyServerPort(f.DevicePort) || flowrec.LikelyServerPort(f.PeerPort) {
		return
	}
	s.served++
	if s.ports == nil {
		s.ports, s.peers = map[servedPort]int{}, map[netip.Addr]struct{}{}
	}
	k := servedPort{f.Proto, f.DevicePort}
	if _, ok := s.ports[k]; ok || len(s.ports) < maxServedPorts {
		s.ports[k]++
	}
	if len(s.peers) < maxServedPeers {
		s.peers[f.Peer] = struct{}{}
	}
}

// mark is the device's Server, or nil when it does not look like one.
func (s *serving) mark() *Server {
	if s.served*3 < s.all*2 || len(s.peers) < minServedPeers {
		return nil
	}
	var top servedPort
	n := 0
	for k, c := range s.ports {
		if c > n || c == n && (k.proto < top.proto || k.proto == top.proto && k.port < top.port) {
			top, n = k, c
		}
	}
	return &Server{Port: top.port, Proto: flowrec.ProtoName(top.proto), Peers: len(s.peers), Served: s.served, Flows: s.all}
}

func serverWarning(a netip.Addr, s *Server) string {
	return fmt.Sprintf("%s answered %d of its %d flows on its own server ports (%d peers, most on %d/%s): it looks like a server, "+
		"and its peers like its clients, not services it uses; if the capture's inside is elsewhere, say which it is with --local",
		a, s.Served, s.Flows, s.Peers, s.Port, s.Proto)
}
