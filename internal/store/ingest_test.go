package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) Input {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := Fingerprint(p)
		if err != nil {
			t.Fatal(err)
		}
		if in.Path != p || in.Size != int64(len(b)) {
			t.Errorf("%s: %+v", name, in)
		}
		return in
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*FingerprintSpan/16)
	a := write("a.pcap", big)
	if b := write("copy.pcap", big); !a.Same(b) {
		t.Error("a copy under another name is not the same input")
	}
	tail := bytes.Clone(big)
	tail[len(tail)-1] = 'x'
	if c := write("tail.pcap", tail); a.Same(c) || c.Head != a.Head {
		t.Errorf("last byte changed: same %v, head equal %v", a.Same(c), c.Head == a.Head)
	}
	head := bytes.Clone(big)
	head[0] = 'x'
	if c := write("head.pcap", head); a.Same(c) || c.Tail != a.Tail {
		t.Errorf("first byte changed: same %v, tail equal %v", a.Same(c), c.Tail == a.Tail)
	}
	if c := write("longer.pcap", append(bytes.Clone(big[:FingerprintSpan]), big...)); a.Same(c) {
		t.Error("a longer file with the same ends is the same input")
	}
	small := write("small.pcap", []byte("tiny"))
	if small.Head != small.Tail || small.Head == "" {
		t.Errorf("small file: %+v", small)
	}
	if _, err := Fingerprint(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
	if _, err := Fingerprint(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file fingerprinted")
	}
}

// AllFlows yields Flows then More, and Len and FlowCount count both.
func TestBatchMoreFlows(t *testing.T) {
	more := []Flow{{Device: "c"}, {Device: "d"}}
	b := &Batch{Flows: []Flow{{Device: "a"}, {Device: "b"}}, More: FlowRows{N: len(more), Each: func(yield func(*Flow) bool) {
		var r Flow
		for _, m := range more {
			r = m
			if !yield(&r) {
				return
			}
		}
	}}}
	var got []string
	for f := range b.AllFlows() {
		got = append(got, f.Device)
	}
	if strings.Join(got, "") != "abcd" || b.FlowCount() != 4 || b.Len() != 4 {
		t.Errorf("AllFlows %q, FlowCount %d, Len %d; want abcd, 4, 4", got, b.FlowCount(), b.Len())
	}
	for range b.AllFlows() {
		break // stopping early must not panic
	}
	b.Reset()
	if b.Len() != 0 || b.More.Each != nil {
		t.Errorf("Reset left %d rows", b.Len())
	}
}
