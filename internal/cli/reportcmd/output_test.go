package reportcmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

// TestOutputToDevice writes the report to /dev/full, which fails every
// write with ENOSPC, directly and through a symbolic link: report must
// fail with an error that names the path and leave the device (and the
// link) where they were.
func TestOutputToDevice(t *testing.T) {
	if st, err := os.Stat("/dev/full"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Skip("no /dev/full character device here")
	}
	dbPath, _ := scanDemo(t)
	link := filepath.Join(t.TempDir(), "report.html")
	if err := os.Symlink("/dev/full", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, path string }{
		{"--csv", "/dev/full"}, {"--html", "/dev/full"}, {"--html", link}, {"--csv", link},
	} {
		code, _, stderr := run(t, "--store", dbPath, tc.flag, tc.path, "--since", "2026-01-01")
		if code != cli.ExitFailure || !strings.Contains(stderr, tc.path) || !strings.Contains(stderr, "no space left") {
			t.Errorf("%s %s: exit %d, stderr %q", tc.flag, tc.path, code, stderr)
		}
		if st, err := os.Stat("/dev/full"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("/dev/full is gone or changed after %s %s: %v", tc.flag, tc.path, err)
		}
		if dst, err := os.Readlink(link); err != nil || dst != "/dev/full" {
			t.Fatalf("link replaced after %s %s: %q %v", tc.flag, tc.path, dst, err)
		}
	}
}

// TestOutputReplacesRegularFile: a report replaces an existing file
// whole, and leaves nothing beside it.
func TestOutputReplacesRegularFile(t *testing.T) {
	dbPath, _ := scanDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.csv")
	if err := os.WriteFile(out, []byte(strings.Repeat("stale line\n", 10000)), 0o640); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "--store", dbPath, "--csv", out, "--since", "2026-01-01"); code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "stale") || !strings.HasPrefix(string(b), "device,") {
		t.Errorf("file not replaced whole: %.80q", b)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old 0640", st.Mode().Perm())
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Errorf("files beside the report: %v", es)
	}
}
