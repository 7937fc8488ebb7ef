package scanreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/report/scanreport"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

var at = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// scanned scans files in one scanner and returns its report, with every
// device built (Finish) or streamed (FinishStream); maxDevices, when not
// 0, bounds the devices whose sums the scan keeps (the flows of the rest
// spilled).
func scanned(t *testing.T, ix *catalog.Index, all, stream bool, maxDevices int, files ...string) *scan.Report {
	t.Helper()
	cfg := scan.DefaultConfig()
	cfg.All = all
	if maxDevices > 0 {
		cfg.MaxDevices = maxDevices
	}
	cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	s := scan.New(cfg, attribute.New(ix))
	for _, f := range files {
		if err := s.ReadFile(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if stream {
		t.Cleanup(func() { _ = s.Close() })
		return s.FinishStream(at)
	}
	return s.Finish(at)
}

type writer func(*bytes.Buffer, *scan.Report) error

var writers = map[string]writer{
	"json": func(b *bytes.Buffer, r *scan.Report) error { return scanreport.JSON(b, r) },
	// the devices encoded on a second goroutine (--workers)
	"json-concurrent": func(b *bytes.Buffer, r *scan.Report) error { return scanreport.JSONConcurrent(b, r) },
	"csv":             func(b *bytes.Buffer, r *scan.Report) error { return scanreport.CSV(b, r) },
	"text":            func(b *bytes.Buffer, r *scan.Report) error { return scanreport.Text(b, r, false) },
	"all":             func(b *bytes.Buffer, r *scan.Report) error { return scanreport.Text(b, r, true) },
}

func written(t *testing.T, w writer, r *scan.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := w(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encoded is the JSON the report is specified as: json.Encoder's, HTML
// characters unescaped, indented by two spaces.
func encoded(t *testing.T, r *scan.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The shared captures, each alone and all in one scan, with and without
// --all: the report streamed device by device (what outflow scan writes),
// with every device's sums kept or those of all devices but the first
// spilled and summed as they are written, is, in JSON, text and CSV,
// byte for byte the report built whole, and its JSON is json.Encoder's
// for the whole report.
func TestStreamedSameAsWhole(t *testing.T) {
	dir := sharedtest.Path(t, "pcap")
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if len(files) < 20 {
		t.Fatalf("%d captures in %s; its README lists 26", len(files), dir)
	}
	ix, err := catalog.Open(at)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{"all-in-one-scan": files}
	for _, f := range files {
		cases[filepath.Base(f)] = []string{f}
	}
	devices := 0
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			for _, all := range []bool{false, true} {
				whole := scanned(t, ix, all, false, 0, in...)
				devices += len(whole.Devices)
				if got, want := written(t, writers["json"], whole), encoded(t, whole); !bytes.Equal(got, want) {
					t.Errorf("--all=%v: JSON differs from json.Encoder's:\n%s", all, firstDiff(want, got))
				}
				for _, max := range []int{0, 1} {
					stream := scanned(t, ix, all, true, max, in...)
					if stream.Devices != nil {
						t.Fatalf("a streamed report holds its %d devices", len(stream.Devices))
					}
					for wn, w := range writers {
						want := written(t, w, whole)
						// twice: the devices are built again for each walk
						for range 2 {
							if got := written(t, w, stream); !bytes.Equal(got, want) {
								t.Errorf("--all=%v %s, sums of %d devices kept (0: all): the streamed report differs:\n%s", all, wn, max, firstDiff(want, got))
							}
						}
					}
				}
			}
		})
	}
	if devices == 0 {
		t.Fatal("no devices in the shared captures: the comparison compares nothing")
	}
}

// A report with no devices (an empty capture) keeps "devices": [].
func TestStreamedNoDevices(t *testing.T) {
	ix, err := catalog.Open(at)
	if err != nil {
		t.Fatal(err)
	}
	s := scan.New(scan.DefaultConfig(), attribute.New(ix))
	rep := s.FinishStream(at)
	got := written(t, writers["json"], rep)
	if !bytes.Contains(got, []byte("\n  \"devices\": [],\n")) {
		t.Errorf("no empty devices list in\n%s", got)
	}
	if want := encoded(t, s.Finish(at)); !bytes.Equal(got, want) {
		t.Errorf("differs from json.Encoder's:\n%s", firstDiff(want, got))
	}
}

// A write error stops the devices and is returned, by both JSON writers.
func TestStreamedWriteError(t *testing.T) {
	var devs []scan.Device
	for i := range 1000 {
		devs = append(devs, scan.Device{Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250)})
	}
	rep := &scan.Report{Devices: devs}
	for name, write := range map[string]func(io.Writer, *scan.Report) error{"JSON": scanreport.JSON, "JSONConcurrent": scanreport.JSONConcurrent} {
		w := &failAfter{n: 1}
		if err := write(w, rep); !errors.Is(err, errFull) {
			t.Fatalf("%s: got %v, want %v", name, err, errFull)
		}
		if w.writes != 2 {
			t.Errorf("%s: %d writes, want 2: the head, then the first device that failed", name, w.writes)
		}
	}
}

// The concurrent writer hands devices on in runs, closed at 64 devices
// or 5,000 flow lines: across runs of both kinds (a device of 6,000
// lines among small ones) it writes json.Encoder's bytes, as JSON does.
func TestConcurrentRuns(t *testing.T) {
	var devs []scan.Device
	for i := range 1000 {
		d := scan.Device{Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250), Exposures: []scan.Exposure{}}
		n := i % 7
		if i == 300 || i == 301 || i == 777 {
			n = 6000
		}
		for j := range n {
			d.Flows = append(d.Flows, scan.FlowLine{Proto: "tcp", Peer: fmt.Sprintf("192.0.2.%d:%d", j%250, j)})
		}
		devs = append(devs, d)
	}
	rep := &scan.Report{Devices: devs, Totals: []scan.Total{}, Warnings: []string{}}
	want := encoded(t, rep)
	for name, write := range map[string]func(io.Writer, *scan.Report) error{"JSON": scanreport.JSON, "JSONConcurrent": scanreport.JSONConcurrent} {
		var b bytes.Buffer
		if err := write(&b, rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from json.Encoder's:\n%s", name, firstDiff(want, b.Bytes()))
		}
	}
}

var errFull = errors.New("disk full")

type failAfter struct{ n, writes int }

func (f *failAfter) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > f.n {
		return 0, errFull
	}
	return len(p), nil
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(lengths differ)"
}
