package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/inventory/load"
)

const scalePolicy = `
rules:
  - id: ban
    action: block
    entities: [bytedance, tencent]
    basis: test
    effective: 2026-01-19T00:00:00Z
`

// An oracle independent of the catalog code: which generated items the
// fixture catalog must attribute, given the fields each format carries.
var (
	bannedIDs  = map[string]bool{"com.zhiliaoapp.musically": true, "com.tencent.mm": true, "com.zhiliaoapp.musically.beta": true}
	bannedPubs = map[string]bool{"Tencent": true, "Tencent Meeting <wemeet@tencent.com>": true}
)

func oracle(it inventory.Item) bool {
	idOK := it.Kind != inventory.KindProgram && it.Kind != inventory.KindExtension
	return idOK && bannedIDs[it.AppID] || bannedPubs[it.Publisher]
}

type genFormat struct {
	name    string
	format  inventory.Format
	read    func(f fleetgen.Fleet) io.Reader
	has     func(f fleetgen.Fleet, i int) bool
	expect  func(f fleetgen.Fleet, i, j int) inventory.Item
	minimum int // banned devices the format must show at least
}

func platformIs(p string) func(fleetgen.Fleet, int) bool {
	return func(f fleetgen.Fleet, i int) bool { return f.Device(i).Platform == p }
}

var genFormats = []genFormat{
	{"plain csv", inventory.FormatPlainCSV, fleetgen.Fleet.PlainCSV, func(fleetgen.Fleet, int) bool { return true }, fleetgen.Fleet.ExpectPlainCSV, 60},
	{"osquery log", inventory.FormatOsquery, fleetgen.Fleet.OsqueryLog, fleetgen.Fleet.OsqueryIncluded, fleetgen.Fleet.ExpectOsquery, 40},
	{"adb pm list", inventory.FormatAndroid, fleetgen.Fleet.AndroidPM, platformIs(inventory.Android), fleetgen.Fleet.ExpectAndroid, 12},
	{"intune", inventory.FormatIntune, fleetgen.Fleet.IntuneCSV, func(fleetgen.Fleet, int) bool { return true }, fleetgen.Fleet.ExpectIntune, 30},
	{"jamf", inventory.FormatJamf, fleetgen.Fleet.JamfCSV, platformIs(inventory.MacOS), fleetgen.Fleet.ExpectJamf, 10},
}

// TestGeneratedFleets checks thousands of generated devices in each
// format, detected from content, against the oracle, before and after the
// deadline.
func TestGeneratedFleets(t *testing.T) {
	fl := fleetgen.Fleet{Devices: 3000, Apps: 40, Mobile: true}
	before, after := tiktokDeadline.Add(-49*time.Hour), tiktokDeadline.Add(time.Minute)
	for _, gf := range genFormats {
		t.Run(gf.name, func(t *testing.T) {
			want := map[string]int{} // device -> banned apps
			devices := 0
			for i := range fl.Devices {
				if !gf.has(fl, i) {
					continue
				}
				devices++
				for j := range fl.Apps {
					if it := gf.expect(fl, i, j); oracle(it) {
						want[it.Device]++
					}
				}
			}
			if len(want) < gf.minimum {
				t.Fatalf("the generated fleet has %d banned devices in this format; the test needs at least %d", len(want), gf.minimum)
			}
			c := newChecker(t, before, scalePolicy)
			visit, in := c.Visitor("fleet")
			format, err := load.Reader(context.Background(), gf.read(fl), "fleet", "", visit)
			if err != nil {
				t.Fatal(err)
			}
			if format != gf.format {
				t.Fatalf("detected %q, want %q", format, gf.format)
			}
			if in.Malformed != 0 || in.Items != devices*fl.Apps {
				t.Fatalf("read %d items, %d malformed; want %d, 0", in.Items, in.Malformed, devices*fl.Apps)
			}
			check := func(rep *fleet.Report, v fleet.DeviceVerdict) {
				t.Helper()
				got := map[string]int{}
				for _, d := range rep.Devices {
					got[d.Device] = len(d.Apps)
					if d.Verdict != v {
						t.Errorf("%s: %v, want %v", d.Device, d.Verdict, v)
					}
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("banned apps per device (-want +got):\n%s", d)
				}
				if rep.Summary.Devices != devices || rep.Summary.Compliant != devices-len(want) {
					t.Errorf("summary %+v; want %d devices, %d compliant", rep.Summary, devices, devices-len(want))
				}
			}
			rep := c.Report()
			check(rep, fleet.Due)
			if rep.Summary.Due != len(want) || rep.Summary.TimeLeft != "2d1h" {
				t.Errorf("due %d (want %d), time left %q", rep.Summary.Due, len(want), rep.Summary.TimeLeft)
			}
			c.SetNow(after)
			rep = c.Report()
			check(rep, fleet.Overdue)
			if rep.Summary.Overdue != len(want) {
				t.Errorf("overdue %d, want %d", rep.Summary.Overdue, len(want))
			}
		})
	}
}

// iosFleet writes an MDM app export of n iPhones and iPads, 20 apps each:
// TikTok on every 50th, a lookalike id named "TikTok" on every 70th, a
// new TikTok build id on every 90th.
func iosFleet(n int, asJSON bool) ([]byte, map[string]int) {
	want := map[string]int{}
	var b bytes.Buffer
	type app struct{ id, name string }
	appsOf := func(i int) []app {
		var as []app
		for j := range 20 {
			as = append(as, app{fmt.Sprintf("com.vendor%02d.app%d", (i+j)%97, j), fmt.Sprintf("App %d", j)})
		}
		if i%50 == 0 {
			as[3] = app{"com.zhiliaoapp.musically", "TikTok"}
			want[serial(i)]++
		}
		if i%70 == 0 {
			as[5] = app{"com.zhiliaoapp.musicallyfake", "TikTok"}
		}
		if i%90 == 0 {
			as[7] = app{"com.zhiliaoapp.musically.beta", "TikTok Beta"}
			want[serial(i)]++
		}
		return as
	}
	model := func(i int) string {
		if i%3 == 0 {
			return "iPad Pro (11-inch)"
		}
		return "iPhone15,2"
	}
	if !asJSON {
		b.WriteString("Device Name,Serial Number,User,Bundle Identifier,App Name,Short Version,Model\n")
		for i := range n {
			for _, a := range appsOf(i) {
				fmt.Fprintf(&b, "Phone %d,%s,user%d@example.com,%s,%s,1.%d,\"%s\"\n", i, serial(i), i, a.id, a.name, i%7, model(i))
			}
		}
		return b.Bytes(), want
	}
	for i := range n {
		type entry struct{ Identifier, Name, ShortVersion string }
		var list []entry
		for _, a := range appsOf(i) {
			list = append(list, entry{a.id, a.name, "1.0"})
		}
		line, _ := json.Marshal(map[string]any{"UDID": serial(i), "SerialNumber": serial(i), "DeviceName": fmt.Sprintf("Phone %d", i),
			"UserName": fmt.Sprintf("user%d@example.com", i), "Model": model(i), "InstalledApplicationList": list})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), want
}

func serial(i int) string { return fmt.Sprintf("DMPX%06d", i) }

func TestIOSExports(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			data, want := iosFleet(2500, asJSON)
			c := newChecker(t, tiktokDeadline.Add(time.Hour), scalePolicy)
			visit, in := c.Visitor("ios-apps")
			format, err := load.Reader(context.Background(), bytes.NewReader(data), "ios-apps", "", visit)
			if err != nil || format != inventory.FormatIOS {
				t.Fatalf("format %q, err %v", format, err)
			}
			if in.Items != 2500*20 || in.Malformed != 0 {
				t.Fatalf("input %+v %q", in, c.Report().Problems)
			}
			rep := c.Report()
			got := map[string]int{}
			for _, d := range rep.Devices {
				got[d.Device] = len(d.Apps)
				for _, a := range d.Apps {
					if a.AppID == "com.zhiliaoapp.musicallyfake" {
						t.Errorf("%s: lookalike id matched", d.Device)
					}
					if a.AppID == "com.zhiliaoapp.musically.beta" && a.By != fleet.ByAppPrefix {
						t.Errorf("%s: new build matched by %q", d.Device, a.By)
					}
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("banned apps per device (-want +got):\n%s", d)
			}
			if rep.Summary.Overdue != len(want) {
				t.Errorf("overdue %d, want %d", rep.Summary.Overdue, len(want))
			}
		})
	}
}

// TestMalformedLineInLargeExport corrupts one line deep in a generated
// export: it is reported with its file and line, and every other row is
// read and checked.
func TestMalformedLineInLargeExport(t *testing.T) {
	fl := fleetgen.Fleet{Devices: 2000, Apps: 30, Mobile: true}
	data, err := io.ReadAll(fl.PlainCSV())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	const bad = 30001 // line numbers are 1-based; line 1 is the header
	if !strings.HasPrefix(lines[bad-1], "LAPTOP-") && !strings.Contains(lines[bad-1], ",") {
		t.Fatalf("line %d is %q", bad, lines[bad-1])
	}
	lines[bad-1] = "this line lost its fields\n"
	c := newChecker(t, tiktokDeadline.Add(-time.Hour), scalePolicy)
	visit, in := c.Visitor("exports/fleet.csv")
	if _, err := load.Reader(context.Background(), strings.NewReader(strings.Join(lines, "")), "exports/fleet.csv", "", visit); err != nil {
		t.Fatal(err)
	}
	if in.Malformed != 1 || in.Items != fl.Devices*fl.Apps-1 {
		t.Fatalf("input %+v; want 1 malformed, %d items", in, fl.Devices*fl.Apps-1)
	}
	rep := c.Report()
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], fmt.Sprintf("exports/fleet.csv:%d", bad)) {
		t.Errorf("problems %q; want one naming exports/fleet.csv:%d", rep.Problems, bad)
	}
	// Every 50th device carries its banned app as app 0; the bad line is not one of those.
	if rep.Summary.Due < fl.Devices/fleetgen.BannedEvery {
		t.Errorf("due %d; want at least %d", rep.Summary.Due, fl.Devices/fleetgen.BannedEvery)
	}
}

// TestReadAllConcurrent reads several exports of one fleet at once and
// gets the same report as reading them one after the other; a source
// that cannot be read is named and the others are read.
func TestReadAllConcurrent(t *testing.T) {
	fl := fleetgen.Fleet{Devices: 2000, Apps: 30, Mobile: true}
	iosData, _ := iosFleet(500, true)
	srcs := func() []fleet.Source {
		var out []fleet.Source
		for _, gf := range genFormats {
			out = append(out, fleet.Source{Name: gf.name, Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
				f, err := load.Reader(ctx, gf.read(fl), gf.name, "", visit)
				return string(f), err
			}})
		}
		out = append(out, fleet.Source{Name: "ios.json", Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
			f, err := load.Reader(ctx, bytes.NewReader(iosData), "ios.json", "", visit)
			return string(f), err
		}})
		out = append(out, fleet.Source{Name: "notes.txt", Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
			f, err := load.Reader(ctx, strings.NewReader("dear diary\n"), "notes.txt", "", visit)
			return string(f), err
		}})
		return out
	}
	run := func(workers int) (*fleet.Report, []error) {
		c := newChecker(t, tiktokDeadline, scalePolicy)
		errs := c.ReadAll(context.Background(), srcs(), workers)
		return c.Report(), errs
	}
	seq, errs := run(1)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "notes.txt") || !errors.Is(errs[0], load.ErrUnknownFormat) {
		t.Fatalf("errors %v; want one for notes.txt", errs)
	}
	if seq.Summary.Overdue < 100 || len(seq.Inputs) != len(genFormats)+2 || seq.Inputs[len(seq.Inputs)-1].Error == "" {
		t.Fatalf("summary %+v inputs %+v", seq.Summary, seq.Inputs)
	}
	for _, in := range seq.Inputs[:len(genFormats)] {
		if in.Items == 0 || in.Format == "" {
			t.Errorf("input %+v", in)
		}
	}
	for range 3 {
		par, errs := run(3)
		if len(errs) != 1 {
			t.Fatalf("errors %v", errs)
		}
		if d := cmp.Diff(seq, par); d != "" {
			t.Fatalf("concurrent read differs (-sequential +concurrent):\n%s", d)
		}
	}
}
