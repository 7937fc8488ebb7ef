package live

import (
	"testing"

	"golang.org/x/net/bpf"
)

// tcpdump -ddd 'udp port 53' on an Ethernet interface begins so.
func TestParseDDD(t *testing.T) {
	prog, err := parseDDD([]byte("3\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []bpf.RawInstruction{{Op: 40, K: 12}, {Op: 21, Jf: 1, K: 34525}, {Op: 6, K: 262144}}
	if len(prog) != len(want) {
		t.Fatalf("%d instructions, want %d", len(prog), len(want))
	}
	for i := range want {
		if prog[i] != want[i] {
			t.Errorf("instruction %d = %+v, want %+v", i, prog[i], want[i])
		}
	}
	for _, bad := range []string{"1\n40 0 0\n", "1\n40 0 0 x\n", "1\n40 0 0 99999999999\n"} {
		if _, err := parseDDD([]byte(bad)); err == nil {
			t.Errorf("parseDDD(%q) accepted", bad)
		}
	}
}

func FuzzParseDDD(f *testing.F) {
	f.Add([]byte("3\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseDDD(b) })
}
