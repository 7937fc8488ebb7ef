package fleet_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// BenchmarkCheck parses generated exports (generated while they are
// read; fleetgen's own benchmark measures that part), checks every item
// and makes the report; one op is the whole fleet. "csv" is one plain CSV
// of every device (one parser); "exports" the same fleet as its agents
// export it: an osquery result log of the desktops, adb listings of the
// Android phones and an MDM CSV of the iPhones, parsed at once. Run the
// 100,000-device sizes with -benchtime=1x.
func BenchmarkCheck(b *testing.B) {
	ix, err := catalog.Open(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	reader := func(name string, r func() io.Reader) fleet.Source {
		return fleet.Source{Name: name, Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
			f, err := load.Reader(ctx, r(), name, "", visit)
			return string(f), err
		}}
	}
	for _, f := range benchSizes {
		var iosCSV []byte // generated once, outside the timing: fleetgen has no iOS format
		for _, set := range []struct {
			name string
			srcs []fleet.Source
		}{
			{"csv", []fleet.Source{reader("fleet.csv", f.PlainCSV)}},
			{"exports", []fleet.Source{reader("osqueryd.results.log", f.OsqueryLog), reader("phones.txt", f.AndroidPM),
				reader("ios.csv", func() io.Reader { return bytes.NewReader(iosCSV) })}},
		} {
			b.Run(fmt.Sprintf("%s/%dx%d", set.name, f.Devices, f.Apps), func(b *testing.B) {
				if set.name == "exports" && iosCSV == nil {
					iosCSV = iosExport(f)
				}
				b.ReportAllocs()
				var items int
				for b.Loop() {
					c := benchChecker(b, ix)
					if errs := c.ReadAll(context.Background(), set.srcs, 2); len(errs) > 0 {
						b.Fatal(errs)
					}
					rep := c.Report()
					if rep.Summary.Devices != f.Devices || rep.Summary.Malformed > 0 || rep.Summary.Due < f.Devices/fleetgen.BannedEvery {
						b.Fatalf("summary %+v", rep.Summary)
					}
					items = rep.Summary.Items
				}
				b.ReportMetric(float64(items)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			})
		}
	}
}

// iosExport is an MDM CSV of the iOS devices of a fleetgen fleet: the
// same device ids, TikTok on every BannedEvery-th device.
func iosExport(f fleetgen.Fleet) []byte {
	var b bytes.Buffer
	b.WriteString("Serial Number,Device Name,User,Bundle Identifier,App Name,Short Version\n")
	for i := range f.Devices {
		d := f.Device(i)
		if d.Platform != inventory.IOS {
			continue
		}
		prefix := d.ID + "," + d.Name + "," + d.Owner + ","
		for j := range f.Apps {
			a := f.App(i, j)
			b.WriteString(prefix)
			b.WriteString(a.ID + "," + a.Name + "," + a.Version + "\n")
		}
	}
	return b.Bytes()
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

var writeFleet = flag.String("fleet.write", "", "TestWriteBenchFleet: write the 100,000-device benchmark fleet's exports into this directory")

// TestWriteBenchFleet writes the exports BenchmarkCheck reads, for a
// measurement of the command itself (docs/benchmarks.md, "Fleet"):
//
//	go test ./internal/fleet -run TestWriteBenchFleet -fleet.write /tmp/fleet100k
func TestWriteBenchFleet(t *testing.T) {
	if *writeFleet == "" {
		t.Skip("give -fleet.write DIR to write the benchmark fleet")
	}
	f := benchSizes[len(benchSizes)-1]
	if err := os.MkdirAll(*writeFleet, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"fleet.csv":            f.PlainCSV(),
		"osqueryd.results.log": f.OsqueryLog(),
		"phones.txt":           f.AndroidPM(),
		"ios.csv":              bytes.NewReader(iosExport(f)),
	} {
		out, err := os.Create(filepath.Join(*writeFleet, name))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(out, r)
		if err == nil {
			err = out.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, n)
	}
}
