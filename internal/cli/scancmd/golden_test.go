package scancmd

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
// The path of the capture, which changes from run to run, is replaced
// first.
func golden(t *testing.T, name, got, capPath string) {
	t.Helper()
	got = strings.ReplaceAll(got, capPath, "office.pcap")
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it after a deliberate change):\n%s", name, t.Name(), firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// The demo's terminal, CSV and JSON reports, byte for byte: what a user
// reads, and what a spreadsheet or a script takes in. Ownership is
// resolved as of a fixed date so that the files change only with the code
// or the catalog.
func TestGoldenDemo(t *testing.T) {
	p := demoCapture(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"demo.txt", nil},
		{"demo.csv", []string{"--csv"}},
		{"demo.json", []string{"--json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runScan(t, append(append([]string{"--at", "2026-11-01", "--no-progress"}, tc.args...), p)...)
			if code != cli.ExitConcern {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden(t, tc.name, out, p)
		})
	}
}

// Every unverified catalog fact that reaches an output carries its mark:
// for each exposure whose list entry the JSON says is unverified, the
// terminal and the CSV write that list as "id(unverified)" and never bare.
func TestUnverifiedMarked(t *testing.T) {
	p := demoCapture(t)
	_, js, _ := runScan(t, "--json", "--no-progress", p)
	var rep struct {
		Devices []struct {
			Address   string `json:"address"`
			Exposures []struct {
				Entity string `json:"entity"`
				Lists  []struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"lists"`
			} `json:"exposures"`
		} `json:"devices"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	_, txt, _ := runScan(t, "--no-progress", p)
	_, csvOut, _ := runScan(t, "--csv", "--no-progress", p)
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range rep.Devices {
		for _, x := range d.Exposures {
			for _, l := range x.Lists {
				if l.Status != "unverified" {
					continue
				}
				n++
				marked := l.ID + "(unverified)"
				// Terminal: the lists line under "-> entity:".
				i := strings.Index(txt, d.Address)
				j := strings.Index(txt[i:], "-> "+x.Entity+":")
				line := txt[i+j:]
				line = line[strings.Index(line, "lists"):]
				line = line[:strings.IndexByte(line, '\n')]
				if !strings.Contains(line, marked) {
					t.Errorf("terminal: %s %s: %q lacks %s", d.Address, x.Entity, line, marked)
				}
				for _, r := range rows[1:] {
					if r[0] == d.Address && r[4] == x.Entity {
						if !slices.Contains(strings.Split(r[9], ";"), marked) || slices.Contains(strings.Split(r[9], ";"), l.ID) {
							t.Errorf("csv: %s %s: lists %q, want %s marked", d.Address, x.Entity, r[9], l.ID)
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the demo reaches no unverified list entry: the test checks nothing")
	}
}
