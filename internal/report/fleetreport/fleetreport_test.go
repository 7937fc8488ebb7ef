package fleetreport_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/fleettest"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/report/fleetreport"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const pol = `
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
    basis: "PAFACA sec. 2"
    effective: 2026-01-19T00:00:00Z
  - id: wechat-ban
    action: block
    entities: tencent
    basis: "Company policy 12"
    effective: 2026-03-01T00:00:00Z
`

func sample(t *testing.T) *fleet.Report {
	t.Helper()
	ix := fleettest.Index(t)
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: now})
	visit, in := c.Visitor("inventory.csv")
	in.Format = "csv"
	for _, it := range []inventory.Item{
		{Device: "R58M000001", Owner: "ann@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok", Version: "34.5.3", Source: "inventory.csv:2"},
		{Device: "LAPTOP-042", DeviceName: "laptop-042.corp.example", Owner: "bob@example.com", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat", Version: "3.9.12.17", Publisher: "Tencent Technology (Shenzhen) Company Limited", Source: "inventory.csv:3"},
		{Device: "LAPTOP-043", Owner: "cy@example.com", Platform: "windows", Kind: "program", AppID: "TikTok", Name: "TikTok, the \"desktop\" one", Publisher: "TikTok Fan Tools LLC", Source: "inventory.csv:4"},
		{Device: "MBP-7", Platform: "macos", Kind: "app", AppID: "com.zhiliaoapp.musically", Removed: true, Seen: time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC), Source: "inventory.csv:5"},
	} {
		_ = visit(it, nil)
	}
	_ = visit(inventory.Item{}, &inventory.ParseError{Format: "csv", File: "inventory.csv", Line: 6, Err: errString("record has 3 fields, header has 8")})
	c.AddTraffic([]fleet.Contact{{Device: "mbp-7", Entity: "tiktok-pte", Last: time.Date(2026, 1, 19, 22, 0, 0, 0, time.UTC), Via: "dns"}})
	return c.Report()
}

type errString string

func (e errString) Error() string { return string(e) }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestRenderers(t *testing.T) {
	rep := sample(t)
	for _, tc := range []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"report.txt", func(b *bytes.Buffer) error { return fleetreport.Text(b, rep) }},
		{"report.json", func(b *bytes.Buffer) error { return fleetreport.JSON(b, rep) }},
		{"report.csv", func(b *bytes.Buffer) error { return fleetreport.CSV(b, rep) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// TestJSONContract checks the fields the issue promises to scripts.
func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := fleetreport.JSON(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Devices []struct {
			Device string `json:"device"`
			Apps   []struct {
				AppID      string   `json:"app_id"`
				Entity     string   `json:"entity"`
				OwnerChain []string `json:"owner_chain"`
				Rule       string   `json:"rule"`
				Verdict    string   `json:"verdict"`
				Deadline   *string  `json:"deadline"`
			} `json:"apps"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	type app struct{ Device, AppID, Entity, Chain, Rule, Verdict, Deadline string }
	var got []app
	for _, d := range doc.Devices {
		for _, a := range d.Apps {
			dl := ""
			if a.Deadline != nil {
				dl = *a.Deadline
			}
			chain := ""
			for i, c := range a.OwnerChain {
				if i > 0 {
					chain += ">"
				}
				chain += c
			}
			got = append(got, app{d.Device, a.AppID, a.Entity, chain, a.Rule, a.Verdict, dl})
		}
	}
	want := []app{
		{"R58M000001", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-pte>bytedance", "tiktok-ban", "overdue", "2026-01-19T00:00:00Z"},
		{"MBP-7", "com.zhiliaoapp.musically", "tiktok-pte", "tiktok-pte>bytedance", "tiktok-ban", "compliant", "2026-01-19T00:00:00Z"},
		{"LAPTOP-042", "WeChat", "tencent", "tencent", "wechat-ban", "due", "2026-03-01T00:00:00Z"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JSON devices (-want +got):\n%s", d)
	}
}

// TestCSVRows: one row per device and app to remove, plus the traffic
// flag; the lookalike and the compliant removal without traffic are not
// tickets.
func TestCSVRows(t *testing.T) {
	var b bytes.Buffer
	if err := fleetreport.CSV(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fleetreport.CSVHeader, rows[0]); d != "" {
		t.Fatal(d)
	}
	var got [][2]string
	for _, r := range rows[1:] {
		if len(r) != len(fleetreport.CSVHeader) {
			t.Fatalf("row %q has %d fields", r, len(r))
		}
		got = append(got, [2]string{r[0], r[14]})
	}
	want := [][2]string{{"R58M000001", "overdue"}, {"MBP-7", "compliant"}, {"LAPTOP-042", "due"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

// Inventories are written by whoever controls the device: a device or app
// name cannot move the terminal's cursor or fake a line of the report.
func TestTextEscapesInventoryNames(t *testing.T) {
	ix := fleettest.Index(t)
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)})
	visit, in := c.Visitor("inventory.csv")
	in.Format = "csv"
	_ = visit(inventory.Item{Device: "PHONE\x1b[2J\x1b[H", Owner: "x\rcompliant", Platform: "android", Kind: "app",
		AppID: "com.zhiliaoapp.musically", Name: "TikTok\n0 overdue, 0 due", Source: "inventory.csv:2"}, nil)
	var b bytes.Buffer
	if err := fleetreport.Text(&b, c.Report()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if bytes.ContainsAny(b.Bytes(), "\x1b\r") || strings.Contains(out, "\n0 overdue, 0 due") {
		t.Errorf("control characters reach the terminal:\n%q", out)
	}
	if !strings.Contains(out, `PHONE\x1b[2J\x1b[H`) {
		t.Errorf("the device is not shown escaped:\n%s", out)
	}
}
