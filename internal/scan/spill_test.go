package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

// spilledJSON scans files keeping the sums of at most maxDevices devices
// and returns the report's JSON and how many flows were spilled.
func spilledJSON(t *testing.T, ix *catalog.Index, maxDevices, workers int, files ...string) ([]byte, uint64) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.All = true
	cfg.Workers = workers
	cfg.MaxDevices = maxDevices
	cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	s := New(cfg, attribute.New(ix))
	for _, f := range files {
		if err := s.ReadFile(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var spilled uint64
	if s.spill != nil {
		spilled = s.spill.flows
	}
	b, err := json.MarshalIndent(s.Finish(testAt), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if s.spill != nil {
		t.Errorf("Finish left the spill open")
	}
	return b, spilled
}

func sharedFiles(t *testing.T) []string {
	t.Helper()
	dir := sharedPcaps(t)
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	if len(files) < 20 {
		t.Fatalf("%d captures in %s; its README lists 26", len(files), dir)
	}
	return files
}

// The shared captures in one scan, every flow listed (--all), with the
// sums of only the first 1 or 5 devices kept during the scan and the
// flows of every other device spilled (in runs small enough to need
// merging), with 1 and 2 workers: the report of a scan that keeps every
// device's sums, byte for byte.
func TestSpilledSameReport(t *testing.T) {
	defer func(n int) { spillRunBytes = n }(spillRunBytes)
	spillRunBytes = 2 << 10 // about 20 flows a run
	files := sharedFiles(t)
	ix := openCatalog(t)
	want, spilled := spilledJSON(t, ix, 0, 1, files...)
	if spilled != 0 {
		t.Fatalf("the shared captures spilled %d flows by default", spilled)
	}
	for _, tc := range []struct{ max, workers int }{{1, 1}, {5, 1}, {1, 2}, {5, 2}} {
		got, spilled := spilledJSON(t, ix, tc.max, tc.workers, files...)
		if spilled < 200 {
			t.Errorf("max %d: only %d flows spilled", tc.max, spilled)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("max %d devices, %d workers: the report differs (-kept +spilled):\n%s", tc.max, tc.workers, cmp.Diff(string(want), string(got)))
		}
	}
}

// With no temporary directory to write to, the runs stay in memory, the
// report says so, and is otherwise the same.
func TestSpillWithoutFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the temporary directory comes from TMPDIR on Unix only")
	}
	files := sharedFiles(t)
	ix := openCatalog(t)
	want, _ := spilledJSON(t, ix, 0, 1, files...)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	got, spilled := spilledJSON(t, ix, 1, 1, files...)
	var w, g map[string]any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	gw, _ := json.Marshal(g["warnings"])
	if !strings.Contains(string(gw), "could not be written to a temporary file") || !strings.Contains(string(gw), "held in memory") {
		t.Errorf("no warning of the spill kept in memory: %s", gw)
	}
	ww, _ := json.Marshal(w["warnings"])
	if strings.Contains(string(ww), "temporary file") {
		t.Errorf("a warning without spilling: %s", ww)
	}
	delete(w, "warnings")
	delete(g, "warnings")
	if spilled == 0 || !cmp.Equal(w, g) {
		t.Errorf("%d flows spilled; the report differs but for its warnings:\n%s", spilled, cmp.Diff(w, g))
	}
}

// fullFlow is a flow with every field set, to something unlike its zero.
func fullFlow(i int) flowrec.Flow {
	var f flowrec.Flow
	v := reflect.ValueOf(&f).Elem()
	for j := range v.NumField() {
		fv := v.Field(j)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(strings.Repeat(string(rune('a'+j)), j+i%3))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fv.SetUint(uint64(j + i))
		case reflect.Int64, reflect.Int:
			fv.SetInt(-int64(1e18) + int64(j*i))
		case reflect.Array:
			for k := range fv.Len() {
				fv.Index(k).SetUint(uint64(k + j))
			}
		case reflect.Struct: // netip.Addr
		default:
			panic("flowrec.Flow has a field of kind " + fv.Kind().String() + ": teach encodeFlow and this test about it")
		}
	}
	f.Device = netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)})
	f.Peer = netip.MustParseAddr("2001:db8::1%eth0")
	return f
}

// Every field of a flow comes back from its record; a record cut short,
// with a byte changed or with bytes after it is refused.
func TestSpillRecordRoundTrip(t *testing.T) {
	for i := range 3 {
		f := fullFlow(i)
		rec := appendFlowRecord(nil, &f)
		c := &spillCursor{r: newBufReader(rec), left: int64(len(rec)), name: "test"}
		ok, err := c.advance()
		if !ok || err != nil {
			t.Fatalf("advance: %v %v", ok, err)
		}
		if diff := cmp.Diff(f, c.f, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("round trip (-sent +read):\n%s", diff)
		}
	}
	f := fullFlow(0)
	p := encodeFlow(nil, &f)
	var got flowrec.Flow
	for n := range len(p) {
		if err := decodeFlow(p[:n], &got); err == nil {
			t.Errorf("a record cut to %d of %d bytes decoded", n, len(p))
		}
	}
	if err := decodeFlow(append(p, 0), &got); err == nil {
		t.Errorf("a record with a byte after it decoded")
	}
}

// A spill file changed on disk is an error naming the run and record,
// and the report says where it stops; it is never read as other flows.
func TestSpillCorruptFails(t *testing.T) {
	sp := &spill{}
	for i := range 3000 {
		f := fullFlow(i)
		sp.add(&f)
	}
	sp.flush()
	defer sp.close()
	if sp.file == nil || len(sp.runs) < 2 {
		t.Fatalf("%d runs, file %v: want runs on file", len(sp.runs), sp.file)
	}
	if _, err := sp.file.WriteAt([]byte{0xff}, sp.runs[1].off+40); err != nil {
		t.Fatal(err)
	}
	r, err := sp.reader()
	for err == nil {
		var f flowrec.Flow
		if _, ok := r.peek(); !ok {
			t.Fatal("read to the end of a corrupt spill")
		}
		err = r.next(&f)
	}
	if !strings.Contains(err.Error(), "spilled flows, run 1") || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("error %q", err)
	}
}

// A spill read through prefetch (a scan on more than one core) gives
// the reader's flows, in its order, and a corrupt run's error after the
// same flows, with peek naming the device of the flow in its place; a
// prefetch stopped half-way returns.
func TestPrefetchSameFlows(t *testing.T) {
	read := func(corrupt bool, pre bool, stopAfter int) (devs []netip.Addr, flows []flowrec.Flow, err error) {
		sp := &spill{}
		for i := range 3000 {
			f := fullFlow(i)
			// seven flows a device, in runs of their own: a corrupt
			// record falls among a device's flows
			f.Device = netip.AddrFrom4([4]byte{10, 1, byte(i / 7 >> 8), byte(i / 7)})
			sp.add(&f)
		}
		sp.flush()
		defer sp.close()
		if len(sp.runs) < 2 {
			t.Fatalf("%d runs", len(sp.runs))
		}
		if corrupt {
			if _, err := sp.file.WriteAt([]byte{0xff}, sp.runs[1].off+sp.runs[1].len/2); err != nil {
				t.Fatal(err)
			}
		}
		r, err := sp.reader()
		if err != nil {
			t.Fatal(err)
		}
		var src flowSource = r
		if pre {
			p := newPrefetch(r)
			defer p.stop()
			src = p
		}
		for len(flows) != stopAfter {
			d, ok := src.peek()
			if !ok {
				return devs, flows, nil
			}
			var f flowrec.Flow
			if err := src.next(&f); err != nil {
				return append(devs, d), flows, err
			}
			devs, flows = append(devs, d), append(flows, f)
		}
		return devs, flows, nil
	}
	for _, corrupt := range []bool{false, true} {
		wd, wf, werr := read(corrupt, false, -1)
		if corrupt && (len(wd) < 2 || wd[len(wd)-1] != wd[len(wd)-2]) {
			t.Fatal("the read fails at a device's first flow: the case of a device summed short is not tested")
		}
		gd, gf, gerr := read(corrupt, true, -1)
		if corrupt != (werr != nil) || len(wf) < prefetchLen {
			t.Fatalf("corrupt %v: %d flows then %v", corrupt, len(wf), werr)
		}
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !slices.Equal(gd, wd) || !reflect.DeepEqual(gf, wf) {
			t.Errorf("corrupt %v: prefetch gave %d flows (%d devices) then %v; the reader %d (%d) then %v", corrupt, len(gf), len(gd), gerr, len(wf), len(wd), werr)
		}
	}
	if _, f, err := read(false, true, 10); len(f) != 10 || err != nil {
		t.Errorf("stopped after 10: %d flows, %v", len(f), err)
	}
}

// A flow of long names (a log line's, up to 16 MiB) comes back whole.
func TestSpillLongRecord(t *testing.T) {
	sp := &spill{}
	defer sp.close()
	f := fullFlow(1)
	f.SNI = strings.Repeat("x", 3<<20)
	sp.add(&f)
	r, err := sp.reader()
	if err != nil {
		t.Fatal(err)
	}
	var got flowrec.Flow
	if err := r.next(&got); err != nil || got.SNI != f.SNI {
		t.Errorf("%v; %d bytes of SNI back", err, len(got.SNI))
	}
	if _, ok := r.peek(); ok {
		t.Errorf("more than one flow")
	}
}

// The file is gone once the scanner is closed.
func TestSpillFileRemoved(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	t.Setenv("TMP", dir)
	sp := &spill{}
	f := fullFlow(1)
	sp.add(&f)
	sp.flush()
	if sp.file == nil {
		t.Fatal(sp.err)
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

func newBufReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// A run read back ends where its length says: one cut short at a record
// boundary, or a record longer than what is left of its run, is corrupt,
// never a shorter run.
func TestSpillRunLength(t *testing.T) {
	f := fullFlow(1)
	rec := appendFlowRecord(nil, &f)
	two := append(append([]byte(nil), rec...), rec...)
	c := &spillCursor{r: newBufReader(two), left: int64(len(two) + len(rec)), name: "test"}
	for i := range 2 {
		if ok, err := c.advance(); !ok || err != nil {
			t.Fatalf("record %d: %v %v", i, ok, err)
		}
	}
	if ok, err := c.advance(); ok || err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("a run cut at a record boundary: %v %v", ok, err)
	}
	c = &spillCursor{r: newBufReader(two), left: int64(len(rec) + 3), name: "test"}
	if ok, err := c.advance(); !ok || err != nil {
		t.Fatalf("first record: %v %v", ok, err)
	}
	if ok, err := c.advance(); ok || err == nil || !strings.Contains(err.Error(), "bad record length") {
		t.Fatalf("a record longer than its run: %v %v", ok, err)
	}
	c = &spillCursor{r: newBufReader(two), left: int64(len(two)), name: "test"}
	for range 2 {
		c.advance()
	}
	if ok, err := c.advance(); ok || err != nil {
		t.Fatalf("the end of a whole run: %v %v", ok, err)
	}
}
