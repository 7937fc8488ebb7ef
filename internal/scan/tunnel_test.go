package scan

import (
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// A flow seen inside a tunnel is the inner device's, attributed as any
// other, with the tunnel and its ends as evidence of the path: the tunnel
// endpoints are never devices.
func TestTunnelIsEvidenceNotDevice(t *testing.T) {
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.All = true
	s := New(cfg, attribute.New(ix))
	p := decode.Packet{Src: netip.MustParseAddr("10.1.2.3"), Dst: netip.MustParseAddr("23.50.60.70"), SrcPort: 40000, DstPort: 443,
		Proto: 6, TCPFlags: decode.ACK, Seq: 1, Payload: tlshello.BuildClientHello("www.tiktok.com", nil),
		Tunnel: decode.TunnelVXLAN, TunnelSrc: netip.MustParseAddr("192.0.2.1"), TunnelDst: netip.MustParseAddr("192.0.2.2")}
	s.Tracker().Packet(&p, 600, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	rep := s.Finish(time.Date(2026, 11, 1, 9, 1, 0, 0, time.UTC))
	if len(rep.Devices) != 1 || rep.Devices[0].Address != "10.1.2.3" {
		t.Fatalf("devices %+v", rep.Devices)
	}
	d := rep.Devices[0]
	if len(d.Exposures) != 1 || d.Exposures[0].Entity != "tiktok" {
		t.Errorf("exposures %+v", d.Exposures)
	}
	if len(d.Flows) != 1 || d.Flows[0].Tunnel != "vxlan 192.0.2.1>192.0.2.2" {
		t.Errorf("flows %+v", d.Flows)
	}
}
