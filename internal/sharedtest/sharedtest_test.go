package sharedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder stands in for a test: it notes a skip or a failure instead of
// stopping.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...) }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }
func (r *recorder) outcome() string {
	switch {
	case r.failed != "":
		return "fail"
	case r.skipped != "":
		return "skip"
	}
	return "run"
}

func TestMissingDataSkipsOnlyWithoutSharedOutsideCI(t *testing.T) {
	for _, tc := range []struct {
		name            string
		shared, ci      bool
		file            string
		path, opt, glob string // outcome of Path, Optional and Glob
	}{
		{"clone without ../shared", false, false, "pcap/dns.pcap", "skip", "run", "skip"},
		{"CI without ../shared", false, true, "pcap/dns.pcap", "fail", "fail", "fail"},
		{"../shared lacks the file", true, false, "pcap/none.pcap", "fail", "fail", "fail"},
		{"CI, ../shared lacks the file", true, true, "pcap/none.pcap", "fail", "fail", "fail"},
		{"the file is there", true, false, "pcap/dns.pcap", "run", "run", "run"},
		{"the file is there under CI", true, true, "pcap/dns.pcap", "run", "run", "run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			repo := filepath.Join(dir, "repo")
			if err := os.MkdirAll(filepath.Join(repo, "internal", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.shared {
				if err := os.MkdirAll(filepath.Join(dir, "shared", "testdata", "pcap"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "shared", "testdata", "pcap", "dns.pcap"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(filepath.Join(repo, "internal", "x"))
			ci := ""
			if tc.ci {
				ci = "true"
			}
			t.Setenv("CI", ci)

			r := &recorder{TB: t}
			p := Path(r, filepath.FromSlash(tc.file))
			if got := r.outcome(); got != tc.path {
				t.Errorf("Path: %s (%q%q), want %s", got, r.skipped, r.failed, tc.path)
			}
			if want := filepath.Join(repo, "..", "shared", "testdata", filepath.FromSlash(tc.file)); p != want {
				t.Errorf("Path = %s, want %s", p, want)
			}
			r = &recorder{TB: t}
			if _, ok := Optional(r, filepath.FromSlash(tc.file)); r.outcome() != tc.opt || ok != (tc.opt == "run" && tc.shared) {
				t.Errorf("Optional: %s, %v (%q%q), want %s", r.outcome(), ok, r.skipped, r.failed, tc.opt)
			}
			r = &recorder{TB: t}
			if m := Glob(r, filepath.FromSlash(tc.file)); r.outcome() != tc.glob || (tc.glob == "run") != (len(m) == 1) {
				t.Errorf("Glob: %s, %q (%q%q), want %s", r.outcome(), m, r.skipped, r.failed, tc.glob)
			}
		})
	}
}
