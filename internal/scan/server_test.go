package scan

import (
	"net/netip"
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
	got := map[string]bool{}
	for _, d := range rep.Devices {
		got[d.Address] = d.LooksLikeServer
	}
	if !got["10.0.0.5"] || got["192.168.1.20"] {
		t.Errorf("looks like a server: %v; want 10.0.0.5 only", got)
	}
	warned := false
	for _, w := range rep.Warnings {
		if strings.HasPrefix(w, "10.0.0.5 served 30 of its 30 flows on its own ports (such as tcp/443)") && strings.Contains(w, "--local") {
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
