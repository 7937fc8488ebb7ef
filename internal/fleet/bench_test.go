package fleet_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/inventory/load"
	"github.com/outflow-dev/outflow/internal/policy"
)

var benchSizes = []fleetgen.Fleet{
	{Devices: 1_000, Apps: 200, Mobile: true},
	{Devices: 100_000, Apps: 200, Mobile: true},
}

// benchChecker uses the built-in catalog, as the command does.
func benchChecker(b *testing.B, ix *catalog.Index) *fleet.Checker {
	p, err := policy.Parse("policy.yaml", []byte(`
rules:
  - id: ban
    action: block
    entities: [bytedance, tencent]
    basis: bench
    effective: 2026-01-19T00:00:00Z
`))
	if err != nil {
		b.Fatal(err)
	}
	return fleet.New(p, attribute.New(ix), fleet.Config{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
}

// BenchmarkCheck parses a generated export (generated while it is read;
// fleetgen's own benchmark measures that part), checks every item and
// makes the report; one op is the whole fleet. Run the 100,000-device
// size with -benchtime=1x.
func BenchmarkCheck(b *testing.B) {
	ix, err := catalog.Open(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	for _, gf := range []struct {
		name string
		read func(fleetgen.Fleet) io.Reader
	}{{"csv", fleetgen.Fleet.PlainCSV}, {"osquery", fleetgen.Fleet.OsqueryLog}} {
		for _, f := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dx%d", gf.name, f.Devices, f.Apps), func(b *testing.B) {
				b.ReportAllocs()
				var items int
				for b.Loop() {
					c := benchChecker(b, ix)
					visit, in := c.Visitor("fleet")
					if _, err := load.Reader(context.Background(), gf.read(f), "fleet", "", visit); err != nil {
						b.Fatal(err)
					}
					rep := c.Report()
					if rep.Summary.Devices == 0 || in.Malformed > 0 {
						b.Fatalf("summary %+v, input %+v", rep.Summary, in)
					}
					items = in.Items
				}
				b.ReportMetric(float64(items)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}

// BenchmarkAdd is the check alone, per item, without parsing: a device's
// 200 apps, one of them banned.
func BenchmarkAdd(b *testing.B) {
	ix, err := catalog.Open(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	f := fleetgen.Fleet{Devices: 1000, Apps: 200, Mobile: true}
	var items []inventory.Item
	for i := range f.Devices {
		for j := range f.Apps {
			items = append(items, f.ExpectPlainCSV(i, j))
		}
	}
	c := benchChecker(b, ix)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Add(&items[i%len(items)])
	}
}
