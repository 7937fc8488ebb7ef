package sensor_test

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/sensor"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// TestDevicesAndBypassPerInterval: a record's MAC becomes the device's row
// with its vendor, and a device's DoT in two flush intervals is one
// bypass row summed over both, found once per interval.
func TestDevicesAndBypassPerInterval(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "s.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	var found []string
	sen := sensor.New(sensor.DefaultConfig(), sensor.Deps{Store: db, Attributor: &at,
		OnBypass: func(site string, dev netip.Addr, e *bypass.Entry) {
			found = append(found, site+" "+dev.String()+" "+string(e.Kind)+" "+e.Owner)
		},
		Vendor: func(mac net.HardwareAddr) string {
			if mac.String() == "02:00:5e:10:00:01" {
				return "Example Devices"
			}
			return ""
		}})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	dot := func() *flowrec.Flow {
		return &flowrec.Flow{Site: "hq", Device: netip.MustParseAddr("10.0.0.5"), Peer: netip.MustParseAddr("9.9.9.9"), PeerPort: 853,
			Proto: flowrec.TCP, SNI: "dns.quad9.net", Hidden: flowrec.HiddenDoT, BytesOut: 100, BytesIn: 200, PacketsOut: 1, PacketsIn: 1,
			First: t0, Last: t0, HasMAC: true, DeviceMAC: [6]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}}
	}
	sen.Flow(dot())
	if err := sen.Flush(); err != nil {
		t.Fatal(err)
	}
	sen.Flow(dot())
	// the same device seen from the outside end: oriented, no MAC taken
	out := dot()
	out.Device, out.Peer, out.DevicePort, out.PeerPort = out.Peer, out.Device, out.PeerPort, 40000
	out.DeviceMAC = [6]byte{0x02, 0, 0, 0, 0, 9}
	sen.Flow(out)
	if err := sen.Close(); err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0] != "hq 10.0.0.5 dot quad9" || found[1] != found[0] {
		t.Errorf("bypasses handed on: %q, want the device's DoT to Quad9 once per interval", found)
	}
	f := store.Filter{Since: time.Unix(0, t0).Add(-time.Hour), Until: time.Unix(0, t0).Add(time.Hour)}
	bp, err := db.Bypass(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(bp) != 1 || bp[0].Device != "hq/10.0.0.5" || bp[0].Kind != "dot" || bp[0].Flows != 3 || bp[0].BytesOut != 400 {
		t.Errorf("bypass rows %+v, want one DoT row of hq/10.0.0.5 with 3 flows (one seen from the far end) and 400 bytes out", bp)
	}
	d, err := db.Device(ctx, "hq/10.0.0.5", f)
	if err != nil {
		t.Fatal(err)
	}
	if d.Device.MAC != "02:00:5e:10:00:01" || d.Device.Vendor != "Example Devices" {
		t.Errorf("device row %+v, want its MAC and vendor", d.Device)
	}
}
