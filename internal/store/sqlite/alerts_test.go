package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
)

func TestAlertsRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	in := []store.Alert{
		{Time: t0, Kind: "first_contact", Site: "hq", Device: "hq/10.0.0.5", Entity: "bytedance", EntityName: "ByteDance Ltd.",
			Jurisdiction: "CN", Evidence: "sni www.tiktok.com", Bytes: 1200, Summary: "hq/10.0.0.5 talked to ByteDance for the first time"},
		{Time: t0.Add(time.Minute), Kind: "past_deadline", Device: "10.0.0.6", Entity: "dji", Rule: "no-dji",
			Deadline: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Summary: "after the deadline"},
	}
	if err := db.WriteAlerts(ctx, in); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// read back through a fresh, read-only open: the migration made the table
	ro, err := OpenReadOnly(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []store.Alert
	}{
		{"all, newest first", store.Filter{Until: t0.Add(time.Hour)}, []store.Alert{in[1], in[0]}},
		{"by entity", store.Filter{Until: t0.Add(time.Hour), Entities: []string{"bytedance"}}, []store.Alert{in[0]}},
		{"by device and rule", store.Filter{Until: t0.Add(time.Hour), Devices: []string{"10.0.0.6"}, Rules: []string{"no-dji"}}, []store.Alert{in[1]}},
		{"period before", store.Filter{Until: t0}, []store.Alert{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ro.Alerts(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i].ID == 0 {
					t.Errorf("alert %d has no ID", i)
				}
				got[i].ID = 0
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("-want +got\n%s", d)
			}
		})
	}
	if err := ro.WriteAlerts(ctx, in); err == nil {
		t.Fatal("a read-only store took alerts")
	}
}
