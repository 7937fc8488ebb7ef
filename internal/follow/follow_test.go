package follow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// rig is a follower over one file with a handler that records lines.
type rig struct {
	t      *testing.T
	fl     *Follower
	got    []string
	news   int
	header [][]string
	cursor []Cursor
	commit bool // commit every batch when handled
}

func newRig(t *testing.T, dir string, mod func(*Config)) *rig {
	t.Helper()
	r := &rig{t: t, commit: true}
	cfg := DefaultConfig()
	cfg.StateDir = dir
	cfg.Files = []File{{Path: filepath.Join(dir, "x.log")}}
	cfg.SaveInterval = 0
	cfg.RotateWait = 0 // a rotated file closes after two idle polls (TestRotateWait sets it)
	if mod != nil {
		mod(&cfg)
	}
	fl, err := New(cfg, Deps{Handler: func(_ context.Context, b *Batch) error {
		if b.New {
			r.news++
			var h []string
			for _, l := range b.Header {
				h = append(h, string(l))
			}
			r.header = append(r.header, h)
		}
		for i, l := range b.Lines {
			r.got = append(r.got, string(l))
			if b.Offsets[i] < 0 {
				t.Errorf("offset %d", b.Offsets[i])
			}
		}
		r.cursor = append(r.cursor, b.Cursor)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.load(); err != nil {
		t.Fatal(err)
	}
	r.fl = fl
	return r
}

// poll polls once and returns the lines delivered by it.
func (r *rig) poll() []string {
	r.t.Helper()
	n := len(r.got)
	r.fl.poll(context.Background())
	if r.commit {
		for _, c := range r.cursor {
			r.fl.Commit(c)
		}
		r.cursor = nil
	}
	return slices.Clone(r.got[n:])
}

func (r *rig) close() {
	r.t.Helper()
	if err := r.fl.Close(); err != nil {
		r.t.Fatal(err)
	}
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func want(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("lines (-want +got):\n%s", d)
	}
}

func TestLineWrittenInTwoParts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	want(t, r.poll()) // no file yet
	appendFile(t, p, "one\ntw")
	want(t, r.poll(), "one")
	want(t, r.poll())
	appendFile(t, p, "o\nthree\n")
	want(t, r.poll(), "two", "three")
	if got := value(r.fl.met.lines.WithLabelValues(p)); got != 3 {
		t.Errorf("lines metric %v, want 3", got)
	}
	if got := value(r.fl.met.bytes.WithLabelValues(p)); got != float64(len("one\ntwo\nthree\n")) {
		t.Errorf("bytes metric %v", got)
	}
}

func TestRenameAndCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	appendFile(t, p, "1\n2\n")
	want(t, r.poll(), "1", "2")
	appendFile(t, p, "3\n")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p+".1", "4 after the rename, before the writer reopened\n")
	appendFile(t, p, "5\n6\n")
	want(t, r.poll(), "3", "4 after the rename, before the writer reopened", "5", "6")
	appendFile(t, p+".1", "7 late\n")
	appendFile(t, p, "8\n")
	want(t, r.poll(), "7 late", "8")
	if got := value(r.fl.met.rotations.WithLabelValues(p)); got != 1 {
		t.Errorf("rotations %v, want 1", got)
	}
	// Idle twice: the rotated file is closed and, being committed to its
	// end, forgotten.
	r.poll()
	r.poll()
	if n := len(r.fl.paths[0].draining); n != 0 {
		t.Errorf("%d rotated files still open", n)
	}
	if st := r.fl.States(); len(st) != 1 || st[0].Offset != 6 {
		t.Errorf("states %+v, want only the new file at 6", st)
	}
	if r.news != 2 {
		t.Errorf("%d new files, want 2", r.news)
	}
}

func TestRemovedAndRecreated(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	appendFile(t, p, "a\n")
	want(t, r.poll(), "a")
	appendFile(t, p, "b\n")
	os.Remove(p)
	want(t, r.poll(), "b") // read from the open descriptor
	appendFile(t, p, "c\n")
	want(t, r.poll(), "c")
}

func TestCopyTruncate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after string // written after the truncation, before the next poll
		want  []string
	}{
		{"shorter", "x\n", []string{"x"}},
		// Written past the old offset before the poll: only the changed
		// first bytes tell.
		{"regrown", "new first line, longer than before\nsecond\n", []string{"new first line, longer than before", "second"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "x.log")
			r := newRig(t, dir, nil)
			appendFile(t, p, "first\nsecond\n")
			want(t, r.poll(), "first", "second")
			b, _ := os.ReadFile(p)
			os.WriteFile(p+".1", b, 0o644) // the copy
			if err := os.Truncate(p, 0); err != nil {
				t.Fatal(err)
			}
			appendFile(t, p, tc.after)
			want(t, r.poll(), tc.want...)
			if got := value(r.fl.met.truncations.WithLabelValues(p)); got != 1 {
				t.Errorf("truncations %v, want 1", got)
			}
			if r.news != 2 {
				t.Errorf("%d new files, want 2", r.news)
			}
			// A cursor from before the truncation must not move the offset.
			appendFile(t, p, "more\n")
			want(t, r.poll(), "more")
			off := r.fl.States()[0].Offset
			if int(off) != len(tc.after)+5 {
				t.Errorf("offset %d, want %d", off, len(tc.after)+5)
			}
		})
	}
}

func TestStaleCursorIgnored(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	r.commit = false
	appendFile(t, p, "aaaaaaaaaa\nbbbbbbbbbb\n")
	r.poll()
	stale := r.cursor[0]
	os.Truncate(p, 0)
	appendFile(t, p, "c\n")
	r.poll()
	r.fl.Commit(stale)
	if off := r.fl.States()[0].Offset; off != 0 {
		t.Fatalf("a cursor of the truncated content moved the offset to %d", off)
	}
}

func TestRestartResumesAtCommit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprintf("line %d", i))
		appendFile(t, p, lines[i]+"\n")
	}
	r := newRig(t, dir, func(c *Config) { c.Batch = 3 })
	r.commit = false
	want(t, r.poll(), lines...)
	// The consumer flushed the first two batches, then died before the rest.
	r.fl.Commit(r.cursor[0])
	r.fl.Commit(r.cursor[1])
	r.close()

	r2 := newRig(t, dir, func(c *Config) { c.Batch = 3 })
	appendFile(t, p, "line 10\n")
	want(t, r2.poll(), "line 6", "line 7", "line 8", "line 9", "line 10")
	r2.close()

	r3 := newRig(t, dir, nil)
	want(t, r3.poll())
	appendFile(t, p, "line 11\n")
	want(t, r3.poll(), "line 11")
}

// A file renamed away stays open for RotateWait, however idle: a line
// its writer adds after two idle polls, before the wait is over, is read;
// after the wait, two idle polls close it.
func TestRotateWait(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, func(c *Config) { c.RotateWait = 5 * time.Second })
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r.fl.deps.Now = func() time.Time { return now }
	appendFile(t, p, "1\n")
	want(t, r.poll(), "1")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, "2\n")
	want(t, r.poll(), "2")
	for range 3 {
		now = now.Add(time.Second)
		want(t, r.poll())
	}
	appendFile(t, p+".1", "3 late\n") // 3 s after the rename, three idle polls
	want(t, r.poll(), "3 late")
	if n := len(r.fl.paths[0].draining); n != 1 {
		t.Fatalf("%d rotated files open within the wait, want 1", n)
	}
	now = now.Add(2 * time.Second) // the wait is over
	r.poll()
	r.poll()
	if n := len(r.fl.paths[0].draining); n != 0 {
		t.Errorf("%d rotated files open after the wait and two idle polls, want 0", n)
	}

	// A rotated file found again after a restart waits as long.
	appendFile(t, p, "4\n")
	r.close()
	if err := os.Rename(p, p+".2"); err != nil {
		t.Fatal(err)
	}
	r2 := newRig(t, dir, func(c *Config) { c.RotateWait = 5 * time.Second })
	r2.fl.deps.Now = func() time.Time { return now }
	want(t, r2.poll(), "4")
	r2.poll()
	r2.poll()
	appendFile(t, p+".2", "5 late\n")
	want(t, r2.poll(), "5 late")
	now = now.Add(5 * time.Second)
	r2.poll()
	r2.poll()
	if n := len(r2.fl.paths[0].draining); n != 0 {
		t.Errorf("after a restart: %d rotated files open after the wait, want 0", n)
	}
}

func TestRestartReadsRotatedRest(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	appendFile(t, p, "1\n2\n")
	want(t, r.poll(), "1", "2")
	r.close()
	// While the sensor is down: more lines, a rotation, a new file.
	appendFile(t, p, "3\n")
	os.Rename(p, p+".1")
	appendFile(t, p, "4\n")
	os.WriteFile(filepath.Join(dir, "other.log"), []byte("not ours\n"), 0o644)

	r2 := newRig(t, dir, nil)
	want(t, r2.poll(), "3", "4")
	r2.poll()
	r2.poll()
	r2.close()
	r3 := newRig(t, dir, nil)
	want(t, r3.poll())
	if st := r3.fl.States(); len(st) != 1 {
		t.Errorf("states %+v, want the current file only", st)
	}
}

func fp(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestInodeReuse gives a saved state the inode of a new file: the offset
// is used only if the fingerprint matches too.
func TestInodeReuse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fpOf   string
		want   []string
		offset int64
	}{
		{"same file", "alpha\n", []string{"beta"}, 6},
		{"reused inode", "other content\n", []string{"alpha", "beta"}, 6},
		{"reused, shorter than the fingerprint", "alpha\nbeta\ngamma and more\n", []string{"alpha", "beta"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "x.log")
			appendFile(t, p, "alpha\nbeta\n")
			fi, _ := os.Stat(p)
			dev, ino := fileID(fi)
			if ino == 0 {
				t.Skip("no inodes here")
			}
			o := &FileOffsets{Path: filepath.Join(dir, "offsets.json")}
			if err := o.Save([]State{{Path: p, Dev: dev, Ino: ino, FP: fp(tc.fpOf), FPLen: int64(len(tc.fpOf)), Offset: tc.offset}}); err != nil {
				t.Fatal(err)
			}
			r := newRig(t, dir, nil)
			want(t, r.poll(), tc.want...)
		})
	}
}

// TestInodeReuseReal deletes a followed file and creates another; when
// the file system hands out the same inode, the new file is still read
// from its start.
func TestInodeReuseReal(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, nil)
	appendFile(t, p, "old file, line one\nold file, line two\n")
	want(t, r.poll(), "old file, line one", "old file, line two")
	r.close()
	fi, _ := os.Stat(p)
	_, ino := fileID(fi)
	os.Remove(p)
	appendFile(t, p, "new file, a longer first line than the old one had\n")
	fi2, _ := os.Stat(p)
	if _, ino2 := fileID(fi2); ino2 != ino {
		t.Skipf("inode not reused (%d then %d); TestInodeReuse covers the logic", ino, ino2)
	}
	r2 := newRig(t, dir, nil)
	want(t, r2.poll(), "new file, a longer first line than the old one had")
}

func TestLongLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	r := newRig(t, dir, func(c *Config) { c.MaxLine = 8 })
	r.fl.buf = make([]byte, 12) // small, so that a long line spans reads
	appendFile(t, p, "short\n"+strings.Repeat("x", 9)+"\nok\n"+strings.Repeat("y", 30))
	want(t, r.poll(), "short", "ok")
	appendFile(t, p, strings.Repeat("y", 20)+"\nafter\n12345678\n")
	want(t, r.poll(), "after", "12345678")
	if got := value(r.fl.met.long.WithLabelValues(p)); got != 2 {
		t.Errorf("long lines %v, want 2", got)
	}
}

func TestZeekHeaderAfterRestart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	hdr := "#separator \\x09\n#fields\tts\tuid\n"
	appendFile(t, p, hdr+"1\tA\n")
	mod := func(c *Config) { c.Files[0].Header = "#" }
	r := newRig(t, dir, mod)
	want(t, r.poll(), "#separator \\x09", "#fields\tts\tuid", "1\tA")
	if d := cmp.Diff([][]string{nil}, r.header); d != "" {
		t.Errorf("header on a read from 0 (-want +got):\n%s", d)
	}
	r.close()
	appendFile(t, p, "2\tB\n")
	r2 := newRig(t, dir, mod)
	want(t, r2.poll(), "2\tB")
	if d := cmp.Diff([][]string{{"#separator \\x09", "#fields\tts\tuid"}}, r2.header); d != "" {
		t.Errorf("header after restart (-want +got):\n%s", d)
	}
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendFile(t, p, "history\nmore history\npart")
	r := newRig(t, dir, func(c *Config) { c.StartAtEnd = true })
	want(t, r.poll())
	appendFile(t, p, "ial\nnew\n")
	want(t, r.poll(), "partial", "new")
}

func TestHandlerErrorRereads(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	fails := 2
	var got []string
	cfg := DefaultConfig()
	cfg.StateDir, cfg.Files, cfg.CommitOnReturn = dir, []File{{Path: p}}, true
	fl, err := New(cfg, Deps{Handler: func(_ context.Context, b *Batch) error {
		if fails > 0 {
			fails--
			return fmt.Errorf("store is down")
		}
		for _, l := range b.Lines {
			got = append(got, string(l))
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, "a\nb\n")
	for range 3 {
		fl.poll(context.Background())
	}
	want(t, got, "a", "b")
	if n := value(fl.met.rew.WithLabelValues(p)); n != 2 {
		t.Errorf("handler errors %v, want 2", n)
	}
	if off := fl.States()[0].Offset; off != 4 {
		t.Errorf("committed offset %d, want 4", off)
	}
}

// TestStartClose runs the real loop: lines arrive through the goroutine
// and the offset is saved at Close.
func TestStartClose(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendFile(t, p, "a\n")
	got := make(chan string, 10)
	cfg := DefaultConfig()
	cfg.StateDir, cfg.Files, cfg.Poll, cfg.CommitOnReturn = dir, []File{{Path: p}}, 5*time.Millisecond, true
	fl, err := New(cfg, Deps{Handler: func(_ context.Context, b *Batch) error {
		for _, l := range b.Lines {
			got <- string(l)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-got:
		want(t, []string{l}, "a")
	case <-time.After(5 * time.Second):
		t.Fatal("no line")
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := (&FileOffsets{Path: filepath.Join(dir, "offsets.json")}).Load()
	if err != nil || len(st) != 1 || st[0].Offset != 2 {
		t.Fatalf("saved %+v %v", st, err)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	o := &FileOffsets{Path: filepath.Join(dir, "offsets.json")}
	if st, err := o.Load(); err != nil || st != nil {
		t.Fatalf("missing file: %v %v", st, err)
	}
	in := []State{{Path: "/a", Dev: 1, Ino: 2, FP: "ab", FPLen: 1, Offset: 9, Updated: time.Unix(5, 0).UTC()}}
	if err := o.Save(in); err != nil {
		t.Fatal(err)
	}
	out, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Error(d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	os.WriteFile(o.Path, []byte(`{"version":1,"files":[}`), 0o644)
	if _, err := o.Load(); err == nil || !strings.Contains(err.Error(), "offsets.json: offset") {
		t.Errorf("bad file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.Poll = 0 },
		func(c *Config) { c.RotateWait = -time.Second },
		func(c *Config) { c.MaxLine = 0 },
		func(c *Config) { c.Batch = 0 },
		func(c *Config) { c.Fingerprint = 0 },
		func(c *Config) { c.Files = []File{{Path: "/a"}, {Path: "/a/"}} },
		func(c *Config) { c.Files = []File{{}} },
	} {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
	if _, err := New(DefaultConfig(), Deps{Handler: func(context.Context, *Batch) error { return nil }}); err == nil {
		t.Error("no state_dir and no Offsets: no error")
	}
}
