package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/attribute"
)

func exposures(rep *Report) map[string]Counts {
	m := map[string]Counts{}
	for _, d := range rep.Devices {
		for _, e := range d.Exposures {
			c := m[d.Address+" "+e.Entity]
			addCounts(&c, e.Counts)
			m[d.Address+" "+e.Entity] = c
		}
	}
	return m
}

func scanLogs(t *testing.T, files ...string) *Report {
	ix := openCatalog(t)
	s := New(DefaultConfig(), attribute.New(ix))
	for _, f := range OrderInputs(files) {
		if err := s.ReadAny(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return s.Finish(testAt)
}

// TestZeekLogs: names from ssl.log and dns.log join conn.log by uid (and by
// the client's DNS answer), whatever order the files are given in.
func TestZeekLogs(t *testing.T) {
	dir := "../ingest/zeek/testdata/"
	rep := scanLogs(t, dir+"conn.log", dir+"ssl.log", dir+"dns.log")
	got := exposures(rep)
	want := map[string]Counts{
		"192.168.50.10 tiktok":    {BytesOut: 32000, BytesIn: 165000, PacketsOut: 40, PacketsIn: 120, Flows: 1},
		"192.168.50.30 hikvision": {BytesOut: 125000, BytesIn: 11000, PacketsOut: 100, PacketsIn: 50, Flows: 1},
		"192.168.50.20 pdd":       {BytesOut: 15000, BytesIn: 220000, PacketsOut: 60, PacketsIn: 170, Flows: 1},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("exposures %v", got)
	}
	if rep.Stats.LoggedFlows != 5 {
		t.Errorf("logged flows %d, want 5", rep.Stats.LoggedFlows)
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.Contains(w, "conn.log:10:")
	}
	if !found {
		t.Errorf("the broken line is not reported with file and line: %v", rep.Warnings)
	}
}

// TestEVELog: tls, quic and dns events name the flow events of the same
// flow_id or client.
func TestEVELog(t *testing.T) {
	rep := scanLogs(t, "../ingest/eve/testdata/eve.json")
	got := exposures(rep)
	want := map[string]Counts{
		"192.168.50.10 tiktok":    {BytesOut: 32000, BytesIn: 165000, PacketsOut: 40, PacketsIn: 120, Flows: 1},
		"192.168.50.30 hikvision": {BytesOut: 125000, BytesIn: 11000, PacketsOut: 100, PacketsIn: 50, Flows: 1},
		"192.168.50.11 tencent":   {BytesOut: 11000, BytesIn: 27000, PacketsOut: 20, PacketsIn: 30, Flows: 1},
		"192.168.50.20 pdd":       {BytesOut: 15000, BytesIn: 220000, PacketsOut: 60, PacketsIn: 170, Flows: 1},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.Contains(w, "eve.json:10:")
	}
	if !found {
		t.Errorf("the broken line is not reported with file and line: %v", rep.Warnings)
	}
}
