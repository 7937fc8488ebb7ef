package reportcmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The demo's HTML report and CSV, byte for byte: the documents a
// compliance officer hands on. The store's temporary path is replaced;
// the clock and the catalog date are fixed by run and scanDemo.
func TestGoldenDemo(t *testing.T) {
	dbPath, _ := scanDemo(t)
	dir := t.TempDir()
	htmlPath, csvPath := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.csv")
	code, _, stderr := run(t, "--store", dbPath, "--html", htmlPath, "--csv", csvPath, "--at", "2026-11-01")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for name, p := range map[string]string{"demo-report.html": htmlPath, "demo-report.csv": csvPath} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.ReplaceAll(string(b), dbPath, "outflow.db")
		// The build's version names the commit: not part of the document.
		got = regexp.MustCompile(`outflow (devel|v)[^ <".]*`).ReplaceAllString(got, "outflow VERSION")
		gp := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(gp, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(gp)
		if err != nil {
			t.Fatalf("%v (go test -run TestGoldenDemo -update writes it)", err)
		}
		if !bytes.Equal(want, []byte(got)) {
			wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
			for i := range max(len(wl), len(gl)) {
				if i >= len(wl) || i >= len(gl) || wl[i] != gl[i] {
					w, g := "", ""
					if i < len(wl) {
						w = wl[i]
					}
					if i < len(gl) {
						g = gl[i]
					}
					t.Errorf("%s differs from the golden file at line %d (-update rewrites it after a deliberate change):\n  want: %.300s\n  got:  %.300s", name, i+1, w, g)
					break
				}
			}
		}
	}
}

// Every unverified list entry the store holds reaches the report marked:
// in the HTML's entity table and in each CSV row of that entity, the list
// reads "id(unverified)" and never bare.
func TestUnverifiedMarked(t *testing.T) {
	dbPath, _ := scanDemo(t)
	st, err := backend.OpenReadOnly(context.Background(), store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := st.Entities(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	htmlPath, csvPath := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.csv")
	if code, _, stderr := run(t, "--store", dbPath, "--html", htmlPath, "--csv", csvPath); code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, _ := os.ReadFile(htmlPath)
	f, _ := os.Open(csvPath)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		for _, l := range e.Unverified {
			n++
			marked := l + "(unverified)"
			// The entity's row of the entities table: from its id cell to the
			// end of the row.
			i := bytes.Index(page, []byte(`<span class="mono note">`+e.ID+`</span>`))
			if i < 0 {
				t.Errorf("html: no row for %s", e.ID)
				continue
			}
			row := page[i:]
			row = row[:bytes.Index(row, []byte("</tr>"))]
			if !bytes.Contains(row, []byte(">"+marked+"<")) || bytes.Contains(row, []byte(">"+l+"<")) {
				t.Errorf("html: %s's row lists %s unmarked: %s", e.ID, l, row)
			}
			for _, r := range rows[1:] {
				if r[4] != e.ID {
					continue
				}
				cells := strings.Split(r[7], ";")
				if !slices.Contains(cells, marked) || slices.Contains(cells, l) {
					t.Errorf("csv: %s lists %q, want %s marked", e.ID, r[7], l)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the demo store holds no unverified list entry: the test checks nothing")
	}
}
