package scanfeed

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/sharedtest"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// scanShared scans the shared captures with the feed attached and returns
// the report and the store.
func scanShared(t *testing.T) (*scan.Report, *sqlite.DB, *catalog.Index) {
	t.Helper()
	files := sharedtest.Glob(t, "pcap", "*.pcap*")
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

// TestBypassRows checks that a report's bypass entries reach the store,
// through Close (scan --store) and through FromReport (report --from-scan).
func TestBypassRows(t *testing.T) {
	rep := &scan.Report{Generated: "2026-11-02T10:00:00Z", Devices: []scan.Device{
		{Address: "192.168.7.16", Bypass: []bypass.Entry{
			{Kind: bypass.HTTPDNS, Peer: "203.107.1.65", Port: 80, Proto: "tcp", Service: "alibaba-cloud-httpdns", Owner: "alibaba-cloud", OwnerName: "Alibaba Cloud",
				Evidence: []bypass.Evidence{{Kind: "http-dns-request", Value: "GET /sign_d?host=appmarket.micloud.xiaomi.net"},
					{Kind: "dns-service", Value: "Alibaba Cloud HTTPDNS (httpdns)", Rule: "dns-service:alibaba-cloud-httpdns", Source: "aliyun-httpdns-resolve-api", AsOf: "2026-11-01"}},
				Flows: 1, BytesOut: 310, BytesIn: 180, FirstSeen: "2026-11-02T09:00:01Z", LastSeen: "2026-11-02T09:00:02Z"},
			// an old report without times: dated at the report's
			{Kind: bypass.DoT, Peer: "9.9.9.9", Port: 853, Proto: "tcp", Evidence: []bypass.Evidence{{Kind: "port", Value: "853"}}, Flows: 2},
		}},
		{Address: "192.168.7.17", Bypass: []bypass.Entry{}},
	}}
	gen := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	want := []store.Bypass{
		{Device: "192.168.7.16", Kind: "dot", Peer: "9.9.9.9", Port: 853, Proto: "tcp", Evidence: []store.BypassEvidence{{Kind: "port", Value: "853"}},
			Flows: 2, First: gen, Last: gen, Source: "src"},
		{Device: "192.168.7.16", Kind: "httpdns", Peer: "203.107.1.65", Port: 80, Proto: "tcp", Service: "alibaba-cloud-httpdns", Owner: "alibaba-cloud",
			OwnerName: "Alibaba Cloud", Evidence: []store.BypassEvidence{{Kind: "http-dns-request", Value: "GET /sign_d?host=appmarket.micloud.xiaomi.net"},
				{Kind: "dns-service", Value: "Alibaba Cloud HTTPDNS (httpdns)", Rule: "dns-service:alibaba-cloud-httpdns", Source: "aliyun-httpdns-resolve-api"}},
			Flows: 1, BytesOut: 310, BytesIn: 180, First: time.Date(2026, 11, 2, 9, 0, 1, 0, time.UTC), Last: time.Date(2026, 11, 2, 9, 0, 2, 0, time.UTC), Source: "src"},
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		write func(*sqlite.DB) error
	}{
		{"Close", func(db *sqlite.DB) error { _, err := New(ctx, db, "src").Close(rep); return err }},
		{"FromReport", func(db *sqlite.DB) error { return db.Write(ctx, FromReport(rep, nil, "src")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlite.Open(ctx, store.Config{Path: t.TempDir() + "/b.db"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := tc.write(db); err != nil {
				t.Fatal(err)
			}
			got, err := db.Bypass(ctx, store.Filter{Until: gen.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("-want +got\n%s", d)
			}
		})
	}
}
