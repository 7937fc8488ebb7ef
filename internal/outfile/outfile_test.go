package outfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// leftovers fails the test if a temporary file is left in dir.
func leftovers(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestNewAndReplaced(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.csv")
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "one\n"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one\n" {
		t.Errorf("new file holds %q", b)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "two\n"); return err }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two\n" {
		t.Errorf("replaced file holds %q", b)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file's mode %v, want the old 0600", st.Mode().Perm())
	}
	leftovers(t, dir)
}

// TestFailedWriteKeepsOldContent: a write that fails part way (here the
// renderer, as a full disk would) leaves the old file whole.
func TestFailedWriteKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.html")
	if err := os.WriteFile(p, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("renderer failed")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 200<<10)) // past the buffer: bytes reach the disk
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the renderer's", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old report" {
		t.Errorf("old content lost: %.40q", b)
	}
	leftovers(t, dir)

	// the same through Create: no Commit, Abort leaves the old file
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "old report" {
		t.Errorf("old content lost after Abort: %q", b)
	}
	leftovers(t, dir)
}

// TestDevFull writes to /dev/full, which fails every write with ENOSPC:
// the error names /dev/full and the device is still there — directly and
// through a symbolic link, which is kept too.
func TestDevFull(t *testing.T) {
	if st, err := os.Stat("/dev/full"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Skip("no /dev/full character device here")
	}
	link := filepath.Join(t.TempDir(), "out.csv")
	if err := os.Symlink("/dev/full", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/full", link} {
		err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "a,b\n"); return err })
		if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want ENOSPC naming the path", p, err)
		}
		st, err := os.Stat("/dev/full")
		if err != nil || st.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("/dev/full is gone or changed: %v %v", st, err)
		}
	}
	if tgt, err := os.Readlink(link); err != nil || tgt != "/dev/full" {
		t.Errorf("symbolic link replaced: %q %v", tgt, err)
	}
}

// TestSymlinkWrittenThrough: a link to a regular file is written through,
// not replaced by a file of its own.
func TestSymlinkWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.txt")
	os.WriteFile(target, []byte("old old old"), 0o644)
	link := filepath.Join(dir, "latest.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link replaced: %v %v", st, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
}

func TestRefused(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "no", "such", "dir.csv"), ""} {
		_, err := Create(p)
		if err == nil {
			t.Errorf("Create(%q) succeeded", p)
			continue
		}
		if p != "" && !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("directory changed: %v", err)
	}
}
