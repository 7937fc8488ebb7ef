package fleet_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/fleettest"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/inventory/load"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/report/fleetreport"
)

// FuzzCheck runs any input through format detection, every parser, the
// check and every renderer: rejecting input is fine, panicking is not, and
// every device the report lists must carry an app or a flag.
func FuzzCheck(f *testing.F) {
	fl := fleetgen.Fleet{Devices: 20, Apps: 2, Mobile: true}
	for _, r := range []io.Reader{fl.PlainCSV(), fl.OsqueryLog(), fl.AndroidPM(), fl.IntuneCSV(), fl.JamfCSV()} {
		b, _ := io.ReadAll(r)
		f.Add(b)
	}
	data, _ := iosFleet(3, true)
	f.Add(data)
	data, _ = iosFleet(3, false)
	f.Add(data)
	f.Add([]byte(dirtyCSV))
	f.Add([]byte(`{"name":"pack/Global/apps","hostIdentifier":"MBP","unixTime":1,"columns":{"bundle_identifier":"com.zhiliaoapp.musically"},"action":"removed"}`))
	ix, err := fleettest.Compile()
	if err != nil {
		f.Fatal(err)
	}
	at := attribute.New(ix)
	p, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := fleet.New(p, at, fleet.Config{Now: time.Date(2026, 1, 18, 0, 0, 0, 0, time.UTC)})
		visit, _ := c.Visitor("fuzz")
		_, _ = load.Reader(context.Background(), bytes.NewReader(in), "fuzz", "", visit)
		c.AddTraffic([]fleet.Contact{{Device: "MBP", Entity: "bytedance", Last: time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)}})
		c.SetNow(time.Date(2026, 1, 20, 1, 0, 0, 0, time.UTC))
		rep := c.Report()
		for _, d := range rep.Devices {
			if len(d.Apps) == 0 {
				t.Fatalf("device %q listed without apps", d.Device)
			}
		}
		for _, render := range []func(io.Writer, *fleet.Report) error{fleetreport.Text, fleetreport.JSON, fleetreport.CSV} {
			if err := render(io.Discard, rep); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.Batch(rep)
	})
}

const dirtyCSV = "device,owner,platform,app_id,app_name,version,publisher,tags\n" +
	"R58M1,ann@example.com,android,com.zhiliaoapp.musically,TikTok,34.5.3,,byod\n" +
	"LAPTOP-2,bob@example.com,windows,CapCut,CapCut,1.0,ByteDance Pte. Ltd.,legal\n" +
	"LAPTOP-3,counsel@example.com,windows,TikTok,TikTok,1.0,TikTok Fan Tools LLC,\n"
