// Package invtest holds what the inventory format tests share: parse a
// fixture into items and positioned errors, read a fixture file, benchmark
// a parser on a generated fleet. For tests only.
//
// It must never import a format sub-package.
package invtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
)

// Parse runs p over data named name and returns the items, the text of
// each *inventory.ParseError reported on the way, and the final error.
func Parse(t testing.TB, p inventory.Parser, data []byte, name string) ([]inventory.Item, []string, error) {
	t.Helper()
	var items []inventory.Item
	var errs []string
	err := p.Parse(context.Background(), bytes.NewReader(data), name, func(it inventory.Item, err error) error {
		if err != nil {
			var pe *inventory.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("visit got %T, want *inventory.ParseError", err)
			}
			errs = append(errs, err.Error())
			return nil
		}
		items = append(items, it)
		return nil
	})
	return items, errs, err
}

// Count parses in, named name, with p and checks that it reads items items
// and that its i-th malformed record's error contains errs[i].
func Count(t testing.TB, p inventory.Parser, in, name string, items int, errs []string) {
	t.Helper()
	got, gotErrs, err := Parse(t, p, []byte(in), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != items {
		t.Errorf("%d items, want %d: %+v", len(got), items, got)
	}
	if len(gotErrs) != len(errs) {
		t.Fatalf("errors %q, want %d", gotErrs, len(errs))
	}
	for i := range gotErrs {
		if !strings.Contains(gotErrs[i], errs[i]) {
			t.Errorf("error %q does not contain %q", gotErrs[i], errs[i])
		}
	}
}

// Read reads a fixture or fails the test.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

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

// BenchParse benchmarks p reading each fleet's export, written by export
// and named name; one op is the whole file. The export is generated while
// it is read: BenchGenerate measures that part alone. Run the large sizes
// with -benchtime=1x.
func BenchParse(b *testing.B, p inventory.Parser, name string, sizes []fleetgen.Fleet, export func(fleetgen.Fleet) io.Reader) {
	for _, f := range sizes {
		b.Run(fmt.Sprintf("%dx%d", f.Devices, f.Apps), func(b *testing.B) {
			b.ReportAllocs()
			var bytes int64
			for b.Loop() {
				c := &counting{r: export(f)}
				items := 0
				err := p.Parse(context.Background(), c, name, func(it inventory.Item, err error) error {
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

// BenchGenerate benchmarks writing each fleet's export alone.
func BenchGenerate(b *testing.B, sizes []fleetgen.Fleet, export func(fleetgen.Fleet) io.Reader) {
	for _, f := range sizes {
		b.Run(fmt.Sprintf("%dx%d", f.Devices, f.Apps), func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				n = fleetgen.Size(export(f))
			}
			b.SetBytes(n)
		})
	}
}
