package scan

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/outflow-dev/outflow/internal/demo"
)

// TestDemoGolden scans the generated demo capture and checks, device by
// device and entity by entity, the exact bytes and packets the generator
// put there.
func TestDemoGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "office.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	truth, err := demo.Write(bw, demo.Options{Seed: 1, Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ix := openCatalog(t)
	rep := scanFiles(t, ix, path)
	byAddr := map[string]Device{}
	for _, d := range rep.Devices {
		byAddr[d.Address] = d
	}
	for _, dt := range truth.Devices {
		t.Run(dt.Hostname, func(t *testing.T) {
			d, ok := byAddr[dt.Addr.String()]
			if !ok {
				t.Fatalf("device %s not in the report", dt.Addr)
			}
			if d.Hostname != dt.Hostname {
				t.Errorf("hostname %q, want %q", d.Hostname, dt.Hostname)
			}
			if d.MAC != dt.MAC.String() {
				t.Errorf("mac %q, want %q", d.MAC, dt.MAC)
			}
			vendor := ""
			if d.Vendor != nil {
				vendor = d.Vendor.Entity
			}
			if vendor != dt.MACEntity {
				t.Errorf("vendor %q, want %q", vendor, dt.MACEntity)
			}
			got := map[string]Counts{}
			for _, e := range d.Exposures {
				if e.Role == "host" {
					t.Errorf("unexpected hosting-only exposure %s", e.Entity)
					continue
				}
				c := got[e.Entity]
				addCounts(&c, e.Counts)
				got[e.Entity] = c
			}
			var ids []string
			for id := range dt.Exposures {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				want := dt.Exposures[id]
				g := got[id]
				if g.BytesOut != want.BytesOut || g.BytesIn != want.BytesIn || g.PacketsOut != want.PacketsOut ||
					g.PacketsIn != want.PacketsIn || g.Flows != want.Flows {
					t.Errorf("%s: got %+v, want %+v", id, g, want)
				}
				delete(got, id)
			}
			for id, g := range got {
				t.Errorf("unexpected exposure to %s: %+v", id, g)
			}
		})
	}
	if !rep.Concern() {
		t.Error("the demo has entities of concern; the report says none")
	}
}
