package plaincsv

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
)

// counting counts the bytes read through it.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

var sizes = []fleetgen.Fleet{
	{Devices: 1_000, Apps: 200, Mobile: true},
	{Devices: 100_000, Apps: 200, Mobile: true},
}

// BenchmarkParse reads a generated fleet export; one op is the whole file.
// The export is generated while it is read: BenchmarkGenerate measures that
// part alone. Run the large size with -benchtime=1x.
func BenchmarkParse(b *testing.B) {
	for _, f := range sizes {
		b.Run(fmt.Sprintf("%dx%d", f.Devices, f.Apps), func(b *testing.B) {
			b.ReportAllocs()
			var bytes int64
			for b.Loop() {
				c := &counting{r: f.PlainCSV()}
				items := 0
				err := Parser{}.Parse(context.Background(), c, "fleet.csv", func(it inventory.Item, err error) error {
					if err != nil {
						return err
					}
					items++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if items != f.Devices*f.Apps {
					b.Fatalf("%d items", items)
				}
				bytes = c.n
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(f.Devices*f.Apps), "ns/row")
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, f := range sizes {
		b.Run(fmt.Sprintf("%dx%d", f.Devices, f.Apps), func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				n = fleetgen.Size(f.PlainCSV())
			}
			b.SetBytes(n)
		})
	}
}
