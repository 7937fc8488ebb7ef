package scan

import (
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

// A shop's login name that CNAMEs into its group's cloud is the shop's
// owner's, hosted by the cloud, with both names as evidence; before, the
// last catalogued name of the chain won and the flow read "hosting only".
func TestCNAMEOwnerAndHost(t *testing.T) {
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	s := New(DefaultConfig(), attribute.New(ix))
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	f := flowrec.Flow{Device: netip.MustParseAddr("192.168.1.5"), Peer: netip.MustParseAddr("203.0.113.50"), DevicePort: 50000, PeerPort: 443,
		Proto: flowrec.TCP, BytesOut: 1000, BytesIn: 5000, PacketsOut: 5, PacketsIn: 5, First: at, Last: at,
		DNSQuery: "login.taobao.com", DNSName: "login.taobao.com.w.kunluncan.aliyuncs.com"}
	s.sink(&f)
	rep := s.Finish(time.Unix(0, at))
	if len(rep.Devices) != 1 || len(rep.Devices[0].Exposures) != 1 {
		t.Fatalf("report %+v", rep.Devices)
	}
	x := rep.Devices[0].Exposures[0]
	if x.Entity != "alibaba" || x.Role == "host" {
		t.Errorf("exposure to %s as %s, want alibaba's service", x.Entity, x.Role)
	}
	if len(x.HostedBy) != 1 || x.HostedBy[0] != "alibaba-cloud" {
		t.Errorf("hosted by %v", x.HostedBy)
	}
	var asked, target bool
	for _, ev := range x.Evidence {
		asked = asked || ev.Value == "login.taobao.com"
		target = target || ev.Value == "login.taobao.com.w.kunluncan.aliyuncs.com"
	}
	if !asked || !target {
		t.Errorf("evidence %+v: want the asked name and the CNAME target", x.Evidence)
	}
}
