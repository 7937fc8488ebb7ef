package scancmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

// TestOutputFile: -o replaces a regular file whole; to /dev/full it fails
// naming the path and leaves the device in place.
func TestOutputFile(t *testing.T) {
	capPath := demoCapture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "scan.json")
	os.WriteFile(out, []byte(strings.Repeat("stale ", 100000)), 0o644)
	if code, _, errs := runScan(t, "--json", "-o", out, capPath); code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "stale") || !strings.HasPrefix(string(b), "{") {
		t.Errorf("not replaced whole: %.60q", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("files beside the output: %v", es)
	}
	if st, err := os.Stat("/dev/full"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Skip("no /dev/full character device here")
	}
	code, _, errs := runScan(t, "--json", "-o", "/dev/full", capPath)
	if code != cli.ExitFailure || !strings.Contains(errs, "/dev/full") || !strings.Contains(errs, "no space left") {
		t.Errorf("-o /dev/full: exit %d: %s", code, errs)
	}
	if st, err := os.Stat("/dev/full"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("/dev/full gone: %v", err)
	}
}
