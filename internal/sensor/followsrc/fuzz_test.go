package followsrc

import (
	"bytes"
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/follow"
	"github.com/outflow-dev/outflow/internal/sensor"
)

// FuzzLines hands arbitrary lines, as a followed file of each kind (and
// of no declared kind) would deliver them, to the source: rejecting is
// fine, panicking is not.
func FuzzLines(f *testing.F) {
	for _, seed := range []string{
		"#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\n1772442017.0\tC1\t10.0.0.1\t1\t1.2.3.4\t443\ttcp\t1\t2",
		`{"timestamp":"2026-03-02T09:01:00.000000+0000","flow_id":21,"event_type":"flow","src_ip":"192.168.50.10","src_port":50001,"dest_ip":"23.50.60.70","dest_port":443,"proto":"TCP","flow":{"bytes_toserver":1,"bytes_toclient":2}}`,
		`{"time":"2026-03-02T09:00:00Z","client":"192.168.50.10","proto":"udp","name":"www.tiktok.com","type":"A","rcode":"NOERROR","verdict":"block","entity":"bytedance","deadline":"x"}`,
		"{not json", "",
	} {
		f.Add([]byte(seed))
	}
	ix, err := catalog.Open(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	dir := f.TempDir()
	kinds := []string{"", Zeek, EVE, QueryLog}
	var files []File
	for _, k := range kinds {
		files = append(files, File{Path: filepath.Join(dir, "f"+k), Kind: k, Site: "s"})
	}
	cfg := DefaultConfig()
	cfg.Files = files
	cfg.Follow.StateDir = dir
	f.Fuzz(func(t *testing.T, b []byte) {
		// a sensor per input, never flushed (no store), so that the sums
		// of earlier inputs do not pile up
		sen := sensor.New(sensor.DefaultConfig(), sensor.Deps{Attributor: &at})
		src, err := New(cfg, Deps{Sensor: sen})
		if err != nil {
			t.Fatal(err)
		}
		ls := bytes.Split(b, []byte("\n"))
		offs := make([]int64, len(ls))
		for _, fl := range files {
			for _, isNew := range []bool{true, false} {
				batch := &follow.Batch{Path: filepath.Clean(fl.Path), New: isNew, Lines: ls, Offsets: offs}
				if err := src.handle(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
