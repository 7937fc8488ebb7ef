package follow

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzFollow writes arbitrary bytes to a file in chunks, polling after
// each and restarting once from the saved offsets: every complete line no
// longer than MaxLine must arrive exactly once, in order, and nothing else.
func FuzzFollow(f *testing.F) {
	f.Add([]byte("a\nbb\nccc\n"), uint8(1), uint8(3))
	f.Add([]byte("short\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nok\npartial"), uint8(4), uint8(0))
	f.Add([]byte("\n\n\r\n{\"a\":1}\n#fields\tx\n"), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step, restartAt uint8) {
		if len(data) > 4096 {
			return
		}
		const maxLine = 16
		var wantLines []string
		parts := bytes.Split(data, []byte("\n"))
		for _, l := range parts[:len(parts)-1] {
			if len(l) <= maxLine {
				wantLines = append(wantLines, string(l))
			}
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		mod := func(c *Config) { c.MaxLine = maxLine; c.Batch = 3 }
		r := newRig(t, dir, mod)
		r.fl.buf = make([]byte, maxLine+1+int(step%8))
		var got []string
		chunk := int(step)%7 + 1
		for i, n := 0, 0; i < len(data); i, n = i+chunk, n+1 {
			appendFile(t, p, string(data[i:min(i+chunk, len(data))]))
			got = append(got, r.poll()...)
			if n == int(restartAt) {
				r.close()
				r = newRig(t, dir, mod)
				r.fl.buf = make([]byte, maxLine+1)
			}
		}
		got = append(got, r.poll()...)
		r.close()
		if d := cmp.Diff(wantLines, got); d != "" && (len(wantLines) > 0 || len(got) > 0) {
			t.Fatalf("lines (-want +got):\n%s", d)
		}
	})
}

// FuzzStates: a damaged state file is an error, never a panic, and what
// it yields is sane.
func FuzzStates(f *testing.F) {
	f.Add([]byte(`{"version":1,"files":[{"path":"/a","dev":1,"ino":2,"fp":"ab","fp_len":1,"offset":9}]}`))
	f.Add([]byte(`{"version":1,"files":[{"path":"","offset":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStates("offsets.json", b)
		if err != nil {
			return
		}
		for _, s := range st {
			if s.Offset < 0 || s.FPLen < 0 || s.Path == "" {
				t.Fatalf("kept %+v", s)
			}
		}
	})
}
