package zeek

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestStreamMatchesRead feeds conn.log a line at a time, split across a
// "restart": the second stream gets the header lines again, as a followed
// file's Batch.Header gives them, and the flows must be those of Read.
func TestStreamMatchesRead(t *testing.T) {
	b, err := os.ReadFile("testdata/conn.log")
	if err != nil {
		t.Fatal(err)
	}
	var whole collect
	var wholeBad, bad []error
	if err := New().Read("conn.log", bytes.NewReader(b), &whole, func(err error) { wholeBad = append(wholeBad, err) }); err != nil {
		t.Fatal(err)
	}
	if len(whole.flows) < 3 {
		t.Fatalf("fixture gave %d flows", len(whole.flows))
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var header []string
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			header = append(header, l)
		}
	}
	half := len(header) + 2
	var c collect
	r := New()
	s := r.Stream("conn.log")
	off := int64(0)
	for _, l := range lines[:half] {
		s.Line([]byte(l), off, &c, func(err error) { bad = append(bad, err) })
		off += int64(len(l)) + 1
	}
	s = r.Stream("conn.log") // a restart: the header comes again
	for _, l := range header {
		s.Line([]byte(l), 0, &c, func(err error) { bad = append(bad, err) })
	}
	for _, l := range lines[half:] {
		s.Line([]byte(l), off, &c, func(err error) { bad = append(bad, err) })
		off += int64(len(l)) + 1
	}
	if d := cmp.Diff(whole.flows, c.flows, addrs); d != "" {
		t.Errorf("flows (-read +stream):\n%s", d)
	}

	if len(bad) != len(wholeBad) {
		t.Errorf("stream: bad %v; read: bad %v", bad, wholeBad)
	}
	// Without the header the lines cannot be read; the error says where.
	bad = nil
	New().Stream("conn.log").Line([]byte(lines[half]), 777, &c, func(err error) { bad = append(bad, err) })
	if len(bad) != 1 || bad[0].Error() != "conn.log: offset 777: data before the #fields header" {
		t.Errorf("bad %v", bad)
	}
}

var addrs = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})
