package followsrc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/ingest"
	"github.com/outflow-dev/outflow/internal/ingest/eve"
	"github.com/outflow-dev/outflow/internal/ingest/zeek"
	"github.com/outflow-dev/outflow/internal/sensor"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// totals sums what a reader's whole-file Read says of a log.
type totals struct{ bytes, flows uint64 }

func (t *totals) Flow(f ingest.Flow) { t.bytes += f.OrigBytes + f.RespBytes; t.flows++ }
func (t *totals) DNS(ingest.DNS)     {}

func wholeFile(t *testing.T, kind, path string) totals {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tot totals
	if kind == Zeek {
		err = zeek.New().Read(path, f, &tot, func(error) {})
	} else {
		err = eve.New().Read(path, f, &tot, func(error) {})
	}
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

func appendLines(t *testing.T, path string, ls ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// rig is a sensor and a followsrc over one store and state directory, as
// one run of `outflow sensor --follow` would have them.
type rig struct {
	sen *sensor.Sensor
	src *Source
}

func start(t *testing.T, st store.Writer, state string, files []File) *rig {
	t.Helper()
	ix, err := catalog.Open(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	scfg := sensor.DefaultConfig()
	scfg.Flush = time.Hour // the test flushes
	sen := sensor.New(scfg, sensor.Deps{Store: st, Attributor: &at})
	if err := sen.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Files = files
	cfg.Follow.StateDir = state
	cfg.Follow.Poll = 5 * time.Millisecond
	src, err := New(cfg, Deps{Sensor: sen})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &rig{sen: sen, src: src}
}

// handled waits until the source has handed n lines of path (bad ones
// included) to the sensor.
func (r *rig) handled(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if int(value(r.src.lines.WithLabelValues(path))) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: %v lines handled, want %d", path, value(r.src.lines.WithLabelValues(path)), n)
}

// stop is SIGTERM: stop reading, write the last interval, save offsets.
func (r *rig) stop(t *testing.T) {
	t.Helper()
	if err := r.src.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.sen.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.src.Close(); err != nil {
		t.Fatal(err)
	}
}

// crash is a kill -9 after the last save: what was read but not flushed
// is gone with the process.
func (r *rig) crash(t *testing.T) {
	t.Helper()
	if err := r.src.Stop(); err != nil {
		t.Fatal(err)
	}
}

func stored(t *testing.T, db store.Reader) totals {
	t.Helper()
	rows, err := db.Flows(context.Background(), store.Filter{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var tot totals
	for _, r := range rows {
		tot.bytes += r.Traffic.BytesOut + r.Traffic.BytesIn
		tot.flows += r.Traffic.Flows
	}
	return tot
}

// TestRotationAndRestart follows a Zeek conn.log rotated by rename (with
// a line written to the old file after the rename) and an eve.json
// rotated by copytruncate, and checks the store against what the readers
// say of the whole files: every line counted once. A crash between a
// read and its flush, then a restart, re-reads those lines and only
// those; a clean restart reads nothing again.
func TestRotationAndRestart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	conn, ev := filepath.Join(dir, "conn.log"), filepath.Join(dir, "eve.json")
	wantConn := wholeFile(t, Zeek, "../../ingest/zeek/testdata/conn.log")
	wantEVE := wholeFile(t, EVE, "../../ingest/eve/testdata/eve.json")
	want := totals{wantConn.bytes + wantEVE.bytes, wantConn.flows + wantEVE.flows}
	if want.flows < 8 {
		t.Fatalf("test data gives only %d flows", want.flows)
	}
	cl := lines(t, "../../ingest/zeek/testdata/conn.log") // 4 header lines, 5 conns, 1 broken
	el := lines(t, "../../ingest/eve/testdata/eve.json")  // 10 lines, 4 flow events
	header := cl[:4]

	db, err := sqlite.Open(context.Background(), store.Config{Path: filepath.Join(dir, "outflow.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files := []File{{Path: conn}, {Path: ev, Kind: EVE}} // conn.log's kind told from its header

	appendLines(t, conn, cl[:6]...) // header + 2 conns
	appendLines(t, ev, el[:5]...)   // names + 1 flow
	r := start(t, db, state, files)
	r.handled(t, conn, 6)
	r.handled(t, ev, 5)
	if err := r.sen.Flush(); err != nil {
		t.Fatal(err)
	}

	// rename rotation: the writer adds a line to the old file before it
	// reopens, then the new file starts with its own header
	if err := os.Rename(conn, conn+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, conn+".1", cl[6])
	appendLines(t, conn, header...)
	appendLines(t, conn, cl[7:]...)
	// copytruncate: copy, truncate, write on
	old, _ := os.ReadFile(ev)
	if err := os.WriteFile(ev+".1", old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ev, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, ev, el[5:]...)
	r.handled(t, conn, 6+1+4+len(cl[7:]))
	r.handled(t, ev, len(el))
	r.stop(t)
	if got := stored(t, db); got != want {
		t.Fatalf("after rotation the store holds %+v, the whole files say %+v", got, want)
	}
	if n := value(r.src.bad.WithLabelValues(conn)); n != 1 {
		t.Errorf("conn.log: %v bad lines counted, want 1", n)
	}

	// a clean restart reads nothing again
	r = start(t, db, state, files)
	time.Sleep(50 * time.Millisecond)
	if err := r.sen.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db); got != want {
		t.Fatalf("a restart changed the store: %+v, want %+v", got, want)
	}

	// lines read but not flushed when the process dies are read again
	more := cl[4] // conn Ca1, written again as a new line
	if !strings.Contains(more, "\tCa1\t") {
		t.Fatalf("conn.log's first conn is %q", more)
	}
	appendLines(t, conn, more)
	r.handled(t, conn, 1)
	r.crash(t)
	if got := stored(t, db); got != want {
		t.Fatalf("an unflushed line reached the store: %+v, want %+v", got, want)
	}
	r = start(t, db, state, files)
	r.handled(t, conn, 1) // the header comes again in Batch.Header, not counted
	r.stop(t)
	// the line is conn Ca1: 32,000 IP bytes out, 165,000 in
	if got, w := stored(t, db), (totals{want.bytes + 197_000, want.flows + 1}); got != w {
		t.Fatalf("after crash and restart the store holds %+v, want %+v", got, w)
	}
}
