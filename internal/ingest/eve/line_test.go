package eve

import (
	"bytes"
	"net/netip"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestLineMatchesRead: the fixture line by line gives what Read gives,
// and a bad line's error names the file and the line's offset.
func TestLineMatchesRead(t *testing.T) {
	b, err := os.ReadFile("testdata/eve.json")
	if err != nil {
		t.Fatal(err)
	}
	var whole collect
	if err := New().Read("eve.json", bytes.NewReader(b), &whole, func(error) {}); err != nil {
		t.Fatal(err)
	}
	var c collect
	var bad []string
	r := New()
	off := int64(0)
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		r.Line("eve.json", bytes.TrimSuffix(l, []byte("\n")), off, &c, func(err error) { bad = append(bad, err.Error()) })
		off += int64(len(l))
	}
	if d := cmp.Diff(whole.flows, c.flows, addrs); d != "" || len(whole.flows) == 0 {
		t.Errorf("flows (-read +line):\n%s", d)
	}
	if d := cmp.Diff(whole.dns, c.dns, addrs); d != "" {
		t.Errorf("dns (-read +line):\n%s", d)
	}
	// Line 10 of the fixture is the bad one.
	lines := bytes.SplitAfter(b, []byte("\n"))
	want := int64(0)
	for _, l := range lines[:9] {
		want += int64(len(l))
	}
	if len(bad) != 1 || !bytes.HasPrefix([]byte(bad[0]), []byte("eve.json: offset "+strconv.FormatInt(want, 10)+": ")) {
		t.Errorf("bad %v, want one at offset %d", bad, want)
	}
}

var addrs = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})
