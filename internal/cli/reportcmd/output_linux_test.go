package reportcmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

const fsizeEnv = "OUTFLOW_REPORT_FSIZE_CHILD"

// fsizeLimit is below the demo's HTML report (about 290 KB) and above
// what SQLite writes beside a store opened read-only (its 32 KB -shm).
const fsizeLimit = 100 << 10

// TestFullDiskChild is the child of TestFullDiskKeepsOldReport: with
// files limited to fsizeLimit bytes (writes past it fail with EFBIG, as
// on a full disk; Go ignores SIGXFSZ), it runs the report.
func TestFullDiskChild(t *testing.T) {
	args := os.Getenv(fsizeEnv)
	if args == "" {
		t.Skip("run by TestFullDiskKeepsOldReport")
	}
	lim := syscall.Rlimit{Cur: fsizeLimit, Max: fsizeLimit}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, strings.Split(args, "\n")...)
	os.Stderr.WriteString(stderr)
	os.Exit(code)
}

// TestFullDiskKeepsOldReport: when writing the new report fails part way
// (the disk fills), the old report at the path is left whole.
func TestFullDiskKeepsOldReport(t *testing.T) {
	dbPath, _ := scanDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "report.html")
	old := []byte("<p>last week's report</p>")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fsizeEnv+"="+strings.Join([]string{"--store", dbPath, "--html", out, "--since", "2026-01-01"}, "\n"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != cli.ExitFailure {
		t.Fatalf("child: %v (want exit %d): %s", err, cli.ExitFailure, stderr.String())
	}
	if !strings.Contains(stderr.String(), out) || !strings.Contains(stderr.String(), "file too large") {
		t.Errorf("error does not name the file and the cause: %s", stderr.String())
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, old) {
		t.Errorf("old report lost: %.80q %v", b, err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("files left beside the report: %v", es)
	}
}
