package scan_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/report/scanreport"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// A spill that cannot be read back ends every output with an error,
// never a report cut short that reads as complete (the text and CSV
// outputs once ended early with no totals, and the scan exited 0).
func TestSpillReadErrorFailsEveryOutput(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedtest.Path(t, "pcap"), "*.pcap"))
	if err != nil || len(files) < 10 {
		t.Fatalf("captures: %v (%d)", err, len(files))
	}
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"text", "csv", "json"} {
		cfg := scan.DefaultConfig()
		cfg.MaxDevices = 1
		cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
		s := scan.New(cfg, attribute.New(ix))
		for _, f := range files {
			if err := s.ReadFile(context.Background(), f); err != nil {
				t.Fatal(err)
			}
		}
		if !scan.CorruptSpill(s) {
			t.Fatal("nothing spilled to a file")
		}
		rep := s.FinishStream(time.Now())
		var b bytes.Buffer
		switch out {
		case "text":
			err = scanreport.Text(&b, rep, false)
		case "csv":
			err = scanreport.CSV(&b, rep)
		default:
			err = scanreport.JSON(&b, rep)
		}
		s.Close()
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: err %v after a corrupt spill; wrote:\n%.300s", out, err, b.String())
		}
		if out == "text" && strings.Contains(b.String(), "Totals by entity") {
			t.Errorf("text: totals written after a failed walk")
		}
	}
}
