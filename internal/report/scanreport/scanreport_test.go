package scanreport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/scan"
)

// When only the network is known (a cloud's or carrier's address), the
// text says so plainly and apart from named services (issue 15).
func TestNetworkOnlyWording(t *testing.T) {
	rep := &scan.Report{Devices: []scan.Device{{Address: "10.0.0.5", Exposures: []scan.Exposure{
		{Entity: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "SG", Controlling: "CN", Role: "app-owner"},
		{Entity: "china-telecom", Name: "China Telecom Corporation Limited", Jurisdiction: "CN", Controlling: "CN", Role: "carrier"},
		{Entity: "tencent-cloud", Name: "Tencent Cloud", Jurisdiction: "CN", Controlling: "CN", Role: "host"},
	}}}}
	var b bytes.Buffer
	if err := Text(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"-> tiktok: TikTok Pte. Ltd., SG — controlled from CN\n",
		"-> china-telecom: at an address of China Telecom Corporation Limited, CN; service not identified\n",
		"-> tencent-cloud: at an address of Tencent Cloud, CN; service not identified\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// A device that looks like a server is shown, even with nothing of
// concern, with a line that says what it answered and how to name the
// inside.
func TestLooksLikeServerLine(t *testing.T) {
	rep := &scan.Report{Devices: []scan.Device{
		{Address: "203.0.113.80", LooksLikeServer: &scan.Server{Port: 443, Proto: "tcp", Peers: 9, Served: 9, Flows: 10}},
		{Address: "198.51.100.10"},
	}}
	var b bytes.Buffer
	if err := Text(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "203.0.113.80\n  (looks like a server: answered 9 peer(s) on 443/tcp, 9 of its 10 flows on its server ports; if the capture's inside is elsewhere, give --local)\n"
	if !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	if strings.Contains(out, "198.51.100.10") {
		t.Errorf("a device with nothing to show is shown:\n%s", out)
	}
}
