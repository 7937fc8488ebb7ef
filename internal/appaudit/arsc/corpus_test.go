package arsc

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/axml"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Path(tb, "apk")
}

func zipEntry(tb testing.TB, path, name string) ([]byte, bool) {
	tb.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				tb.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				tb.Fatal(err)
			}
			return b, true
		}
	}
	return nil, false
}

// TestCorpusLabels resolves each sample's application label through its
// resources.arsc and compares with aapt's application-label line.
func TestCorpusLabels(t *testing.T) {
	dir := sharedDir(t)
	samples, _ := filepath.Glob(filepath.Join(dir, "samples", "*.apk"))
	checked := 0
	for _, s := range samples {
		name := filepath.Base(s)
		t.Run(name, func(t *testing.T) {
			aapt, err := os.ReadFile(filepath.Join(dir, "expected", name+".aapt.txt"))
			if err != nil {
				t.Skip("no aapt output")
			}
			arsc, hasArsc := zipEntry(t, s, "resources.arsc")
			if strings.Contains(string(aapt), "resource table is invalid/corrupt") {
				if !hasArsc {
					t.Fatal("aapt calls the table corrupt, but there is none")
				}
				if _, err := Parse(arsc); err == nil {
					t.Fatal("aapt refuses this resource table, we parsed it")
				}
				return
			}
			want := ""
			for _, line := range strings.Split(string(aapt), "\n") {
				if v, ok := strings.CutPrefix(line, "application-label:'"); ok {
					want = strings.TrimSuffix(v, "'")
				}
			}
			if want == "" {
				t.Skip("aapt printed no application label (" + strings.SplitN(string(aapt), "\n", 2)[0] + ")")
			}
			mb, _ := zipEntry(t, s, "AndroidManifest.xml")
			m, err := axml.ParseManifest(mb)
			if err != nil {
				t.Fatal(err)
			}
			if m.Application.LabelRef == 0 {
				if m.Application.Label != want {
					t.Fatalf("literal label %q, aapt %q", m.Application.Label, want)
				}
				return
			}
			tab, err := Parse(arsc)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tab.ResolveString(m.Application.LabelRef)
			if !ok || got != want {
				t.Fatalf("label %#08x = %q (%v), aapt %q", m.Application.LabelRef, got, ok, want)
			}
			n, ok := tab.Name(m.Application.LabelRef)
			if !ok || !strings.HasPrefix(n, "string/") {
				t.Errorf("Name(%#08x) = %q, %v", m.Application.LabelRef, n, ok)
			}
			found := false
			for _, r := range tab.StringResources() {
				if r.ID == m.Application.LabelRef && r.Value == want && r.Name == n {
					found = true
				}
			}
			if !found {
				t.Errorf("StringResources misses %#08x %q", m.Application.LabelRef, want)
			}
			all, err := tab.Strings()
			if err != nil || len(all) == 0 {
				t.Errorf("Strings: %d, %v", len(all), err)
			}
			checked++
		})
	}
	if checked == 0 && len(samples) > 0 {
		t.Error("no label was resolved through a resource table")
	}
}

func TestNotFound(t *testing.T) {
	b, ok := zipEntry(t, sharedtest.Path(t, "apk", "samples", "androguard_Invalid.apk"), "resources.arsc")
	if !ok {
		t.Fatal("androguard_Invalid.apk has no resources.arsc")
	}
	tab, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint32{0, 0x7fff0000, 0x7f7f7f7f, 0x01040001} {
		if _, err := tab.Value(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Value(%#08x) err = %v, want ErrNotFound", id, err)
		}
		if _, ok := tab.ResolveString(id); ok {
			t.Errorf("ResolveString(%#08x) succeeded", id)
		}
	}
}
