package load

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
)

func TestDetectFixtures(t *testing.T) {
	for _, tc := range []struct {
		path string
		want inventory.Format
	}{
		{"../osquery/testdata/results.log", inventory.FormatOsquery},
		{"../osquery/testdata/MBP-ALICE.json", inventory.FormatOsquery},
		{"../osquery/testdata/joined.json", inventory.FormatOsquery},
		{"../android/testdata/R58M123ABC.txt", inventory.FormatAndroid},
		{"../android/testdata/dumpsys.txt", inventory.FormatAndroid},
		{"../android/testdata/multi.txt", inventory.FormatAndroid},
		{"../intune/testdata/AppInvRawData.csv", inventory.FormatIntune},
		{"../intune/testdata/portal-export.csv", inventory.FormatIntune},
		{"../jamf/testdata/computers.csv", inventory.FormatJamf},
		{"../jamf/testdata/mobile.csv", inventory.FormatJamf},
		{"../ios/testdata/mdm.json", inventory.FormatIOS},
		{"../ios/testdata/apps.csv", inventory.FormatIOS},
		{"../plaincsv/testdata/fleet.csv", inventory.FormatPlainCSV},
	} {
		t.Run(tc.path, func(t *testing.T) {
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Detect(data)
			if err != nil {
				t.Fatal(err)
			}
			if p.Format() != tc.want {
				t.Errorf("Detect = %s, want %s", p.Format(), tc.want)
			}
			// And through File, which must find items.
			n := 0
			got, err := File(context.Background(), tc.path, "", func(it inventory.Item, err error) error {
				if err == nil {
					n++
				}
				return nil
			})
			if err != nil || got != tc.want || n == 0 {
				t.Errorf("File = %s, %v, %d items", got, err, n)
			}
		})
	}
}

func TestGzipAndOverride(t *testing.T) {
	data, err := os.ReadFile("../plaincsv/testdata/fleet.csv")
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(data)
	zw.Close()
	count := func(r io.Reader, format inventory.Format) (inventory.Format, int, error) {
		n := 0
		f, err := Reader(context.Background(), r, "fleet.csv.gz", format, func(it inventory.Item, err error) error {
			if err == nil {
				n++
			}
			return nil
		})
		return f, n, err
	}
	f, n, err := count(bytes.NewReader(zbuf.Bytes()), "")
	if err != nil || f != inventory.FormatPlainCSV || n != 5 {
		t.Errorf("gzip: %s %d %v", f, n, err)
	}
	// Forced through the Jamf reader the same file has no device column.
	if _, _, err := count(bytes.NewReader(data), inventory.FormatJamf); err == nil || !strings.Contains(err.Error(), "need a Serial Number") {
		t.Errorf("forced jamf: %v", err)
	}
	if _, _, err := count(strings.NewReader("hello world\n"), ""); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown: %v", err)
	}
	if _, _, err := count(strings.NewReader(""), "pdf"); err == nil {
		t.Error("unknown format name accepted")
	}
	if _, err := File(context.Background(), "does-not-exist.csv", "", nil); err == nil {
		t.Error("missing file accepted")
	}
}

// checker compares the stream of items with what the generator says, in
// order, without keeping them.
type checker struct {
	t       *testing.T
	fleet   fleetgen.Fleet
	include func(i int) bool
	expect  func(i, j int) inventory.Item
	i, j    int
	items   int
	errs    []error
}

func (c *checker) visit(it inventory.Item, err error) error {
	if err != nil {
		c.errs = append(c.errs, err)
		return nil
	}
	for !c.include(c.i) {
		c.i++
	}
	want := c.expect(c.i, c.j)
	want.Source = it.Source
	if !equal(want, it) {
		d := cmp.Diff(want, it, cmpopts.EquateEmpty())
		return fmt.Errorf("device %d app %d (-want +got):\n%s", c.i, c.j, d)
	}
	c.items++
	if c.j++; c.j == c.fleet.Apps {
		c.i, c.j = c.i+1, 0
	}
	return nil
}

// equal is a fast cmp.Equal for Items (nil and empty Tags alike).
func equal(a, b inventory.Item) bool {
	return a.Device == b.Device && a.DeviceName == b.DeviceName && a.Owner == b.Owner && a.Platform == b.Platform &&
		a.Kind == b.Kind && a.AppID == b.AppID && a.Name == b.Name && a.Version == b.Version && a.Publisher == b.Publisher &&
		a.Source == b.Source && a.Removed == b.Removed && a.Seen.Equal(b.Seen) && slices.Equal(a.Tags, b.Tags)
}

// TestFleetScale reads thousands of generated devices in each format, with
// detection, and checks every item.
func TestFleetScale(t *testing.T) {
	mobile := fleetgen.Fleet{Devices: 3000, Apps: 40, Mobile: true}
	desktop := fleetgen.Fleet{Devices: 3000, Apps: 40}
	platformIs := func(f fleetgen.Fleet, p string) func(int) bool {
		return func(i int) bool { return f.Device(i).Platform == p }
	}
	all := func(int) bool { return true }
	for _, tc := range []struct {
		name    string
		fleet   fleetgen.Fleet
		r       io.Reader
		format  inventory.Format
		include func(int) bool
		expect  func(i, j int) inventory.Item
	}{
		{"plain csv", mobile, mobile.PlainCSV(), inventory.FormatPlainCSV, all, mobile.ExpectPlainCSV},
		{"osquery log", desktop, desktop.OsqueryLog(), inventory.FormatOsquery, desktop.OsqueryIncluded, desktop.ExpectOsquery},
		{"intune", mobile, mobile.IntuneCSV(), inventory.FormatIntune, all, mobile.ExpectIntune},
		{"android", mobile, mobile.AndroidPM(), inventory.FormatAndroid, platformIs(mobile, inventory.Android), mobile.ExpectAndroid},
		{"jamf", mobile, mobile.JamfCSV(), inventory.FormatJamf, platformIs(mobile, inventory.MacOS), mobile.ExpectJamf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &checker{t: t, fleet: tc.fleet, include: tc.include, expect: tc.expect}
			f, err := Reader(context.Background(), tc.r, "fleet", "", c.visit)
			if err != nil {
				t.Fatal(err)
			}
			if f != tc.format {
				t.Errorf("detected %s, want %s", f, tc.format)
			}
			if len(c.errs) > 0 {
				t.Fatalf("%d errors, first: %v", len(c.errs), c.errs[0])
			}
			want := 0
			for i := 0; i < tc.fleet.Devices; i++ {
				if tc.include(i) {
					want += tc.fleet.Apps
				}
			}
			if c.items != want || want < 1000 {
				t.Errorf("%d items, want %d", c.items, want)
			}
		})
	}
}

// TestMalformedLineAtScale corrupts one line deep in a large export: it is
// reported with its file and line, and every other row is still read.
func TestMalformedLineAtScale(t *testing.T) {
	fleet := fleetgen.Fleet{Devices: 2000, Apps: 30, Mobile: true}
	for _, tc := range []struct {
		name string
		r    io.Reader
		bad  string
	}{
		{"plain csv", fleet.PlainCSV(), "LAPTOP-99999,\"unterminated,windows\n"},
		{"osquery", fleet.OsqueryLog(), `{"snapshot":[{"name":"x"` + "\n"},
		{"intune", fleet.IntuneCSV(), "k,only,three\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := io.ReadAll(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			const at = 777 // 1-based line number of the inserted line
			var buf bytes.Buffer
			for i, l := range lines {
				if i == at-1 {
					buf.WriteString(tc.bad)
				}
				buf.Write(l)
			}
			var good, total int
			var errs []*inventory.ParseError
			_, err = Reader(context.Background(), bytes.NewReader(data), "before.x", "", func(it inventory.Item, err error) error {
				total++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Reader(context.Background(), &buf, "export.x", "", func(it inventory.Item, err error) error {
				var pe *inventory.ParseError
				if errors.As(err, &pe) {
					errs = append(errs, pe)
				} else if err == nil {
					good++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != 1 || errs[0].File != "export.x" || errs[0].Line != at {
				t.Fatalf("errors %v, want one at export.x:%d", errs, at)
			}
			if good != total {
				t.Errorf("%d items read around the bad line, want all %d", good, total)
			}
		})
	}
}

// FuzzReader feeds anything to detection and the chosen parser: no panic,
// and every item carries a device and an app.
func FuzzReader(f *testing.F) {
	for _, p := range []string{"../osquery/testdata/results.log", "../android/testdata/dumpsys.txt", "../intune/testdata/AppInvRawData.csv",
		"../jamf/testdata/computers.csv", "../ios/testdata/mdm.json", "../plaincsv/testdata/fleet.csv"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Reader(context.Background(), bytes.NewReader(data), "fuzz.txt", "", func(it inventory.Item, err error) error {
			if err == nil && (it.Device == "" || (it.AppID == "" && it.Name == "")) {
				t.Fatalf("bad item %+v", it)
			}
			return nil
		})
		_ = err // unknown formats and unusable headers are fine
	})
}
