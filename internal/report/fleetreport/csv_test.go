package fleetreport_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/fleettest"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/load"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/report/fleetreport"
)

// TestCSVFormulaInventory checks an inventory whose first cell is a DDE
// formula, read as the fleet check reads it: the device cell of the CSV
// report must read back as text.
func TestCSVFormulaInventory(t *testing.T) {
	const evil = `=cmd|' /C calc'!A0`
	inv := "device,owner,platform,app_id,app_name,version,publisher,tags\n" +
		`"` + evil + `",+owner@example.com,Android,com.zhiliaoapp.musically,-TikTok,34.5.3,@ByteDance,` + "\n"
	ix := fleettest.Index(t)
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)})
	src := fleet.Source{Name: "inventory.csv", Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
		f, err := load.Reader(ctx, strings.NewReader(inv), "inventory.csv", "", visit)
		return string(f), err
	}}
	if errs := c.ReadAll(context.Background(), []fleet.Source{src}, 1); len(errs) > 0 {
		t.Fatal(errs)
	}
	var b bytes.Buffer
	if err := fleetreport.CSV(&b, c.Report()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("want one row to remove: %v", rows)
	}
	want := map[string]string{"device": "'" + evil, "owner": "'+owner@example.com", "app_name": "'-TikTok", "publisher": "'@ByteDance"}
	for i, h := range rows[0] {
		if w, ok := want[h]; ok && rows[1][i] != w {
			t.Errorf("%s: %q, want %q", h, rows[1][i], w)
		}
	}
}
