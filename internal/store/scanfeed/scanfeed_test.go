package scanfeed

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

const shared = "../../../../shared/testdata/pcap"

// scanShared scans the shared captures with the feed attached and returns
// the report and the store.
func scanShared(t *testing.T) (*scan.Report, *sqlite.DB, *catalog.Index) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(shared, "*.pcap*"))
	if len(files) == 0 {
		t.Skip("shared test captures absent (" + shared + ")")
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ix, err := catalog.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenWith(ctx, store.Config{Path: t.TempDir() + "/s.db"}, nil, sqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	feed := New(ctx, db, "shared")
	cfg := scan.DefaultConfig()
	cfg.OnFlow = feed.Flow
	s := scan.New(cfg, attribute.New(ix))
	for _, f := range scan.OrderInputs(files) {
		s.ReadAny(ctx, f)
	}
	rep := s.Finish(now)
	n, err := feed.Close(rep)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(n) != rep.Stats.Flows {
		t.Errorf("feed took %d flows, the scan finished %d", n, rep.Stats.Flows)
	}
	return rep, db, ix
}

// TestFeedMatchesReport checks that the store, filled through the hook,
// gives the same totals per entity and device as the scan's own report.
func TestFeedMatchesReport(t *testing.T) {
	rep, db, _ := scanShared(t)
	ctx := context.Background()
	want := map[string]uint64{}
	for _, tot := range rep.Totals {
		want[tot.Entity] += tot.BytesOut
	}
	ov, err := db.Overview(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, e := range ov.Entities {
		got[e.Entity.ID] = e.Period.BytesOut
	}
	if len(want) == 0 {
		t.Fatal("the shared captures name no entity")
	}
	for id, b := range want {
		if got[id] != b {
			t.Errorf("%s: store has %d bytes out, report %d", id, got[id], b)
		}
	}
	if len(got) != len(want) {
		t.Errorf("store names %d entities, report %d", len(got), len(want))
	}
	ds, err := db.Devices(ctx, store.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(rep.Devices) {
		t.Errorf("store has %d devices, report %d", len(ds), len(rep.Devices))
	}
	// Evidence reached the device pages.
	for _, d := range rep.Devices {
		if len(d.Exposures) == 0 {
			continue
		}
		dd, err := db.Device(ctx, d.Address, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(dd.Exposures) == 0 || len(dd.Exposures[0].Evidence) == 0 {
			t.Errorf("%s: no exposure evidence in the store: %+v", d.Address, dd.Exposures)
		}
		break
	}
}

// TestFromReport loads a scan's JSON report and checks its totals.
func TestFromReport(t *testing.T) {
	rep, _, ix := scanShared(t)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back scan.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: t.TempDir() + "/r.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, FromReport(&back, ix, "scan.json")); err != nil {
		t.Fatal(err)
	}
	ov, err := db.Overview(ctx, store.Filter{Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, e := range ov.Entities {
		got[e.Entity.ID] = e.Period.BytesOut
	}
	for _, tot := range rep.Totals {
		if got[tot.Entity] < tot.BytesOut {
			t.Errorf("%s: %d bytes out from the report's JSON, %d in the report", tot.Entity, got[tot.Entity], tot.BytesOut)
		}
	}
	var other uint64
	for _, d := range rep.Devices {
		other += d.Other.BytesOut
	}
	if ov.Other.BytesOut != other {
		t.Errorf("other traffic %d, report %d", ov.Other.BytesOut, other)
	}
}
