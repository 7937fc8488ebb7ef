package plaincsv

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func TestParseFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/fleet.csv")
	if err != nil {
		t.Fatal(err)
	}
	items, errs, err := invtest.Parse(t, Parser{}, data, "fleet.csv")
	if err != nil {
		t.Fatal(err)
	}
	sales := []string{"sales", "emea"}
	want := []inventory.Item{
		{Device: "LAPTOP-042", Owner: "alice@example.com", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat",
			Version: "3.9.12.17", Publisher: "Tencent", Tags: sales, Source: "fleet.csv:2"},
		{Device: "LAPTOP-042", Owner: "alice@example.com", Platform: "windows", Kind: "program", AppID: "Mozilla Firefox (x64 en-US)",
			Name: "Mozilla Firefox", Version: "128.0", Publisher: "Mozilla", Tags: sales, Source: "fleet.csv:3"},
		{Device: "R58M123ABC", Owner: "bob@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically",
			Name: "TikTok", Version: "34.5.3", Tags: []string{"byod"}, Source: "fleet.csv:4"},
		{Device: "R58M123ABC", Owner: "bob@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically",
			Name: "TikTok, the app", Version: "34.5.3", Tags: []string{"byod"}, Source: "fleet.csv:5"},
		{Device: "F2LXK0J9Q1GC", Owner: "carol@example.com", Platform: "ipados", Kind: "app", AppID: "com.xingin.discover",
			Name: `Xiaohongshu "RED"`, Version: "8.40", Source: "fleet.csv:7"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	wantErrs := []string{
		"inventory: csv: fleet.csv:6: record has 1 fields, header has 8",
		"inventory: csv: fleet.csv:8: empty device",
	}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestOptionalColumns(t *testing.T) {
	in := "App_ID;Device;Kind;Seen\ncom.tencent.mm;pixel-7;app;2025-01-02T03:04:05Z\nx;y;;bad-time\n"
	items, errs, err := invtest.Parse(t, Parser{}, []byte(in), "semi.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Item{{Device: "pixel-7", Kind: "app", AppID: "com.tencent.mm", Source: "semi.csv:2",
		Seen: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "semi.csv:3") {
		t.Errorf("errors = %q", errs)
	}
}

func TestMissingColumns(t *testing.T) {
	_, _, err := invtest.Parse(t, Parser{}, []byte("host,app\na,b\n"), "x.csv")
	if err == nil || !strings.Contains(err.Error(), "x.csv:1") || !strings.Contains(err.Error(), "app_id") {
		t.Errorf("err = %v", err)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		want int
	}{
		{"device,owner,platform,app_id,app_name,version\n", 95},
		{"Device;App_ID\n", 85},
		{"Device name,Application name\n", 0},
		{`{"hostIdentifier":"x"}`, 0},
		{"", 0},
	} {
		if got := (Parser{}).Sniff([]byte(tc.head)); got != tc.want {
			t.Errorf("Sniff(%q) = %d, want %d", tc.head, got, tc.want)
		}
	}
}

func TestCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("device,app_id\n")
	for range 5000 {
		b.WriteString("d,a\n")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Parser{}.Parse(ctx, strings.NewReader(b.String()), "c.csv", func(inventory.Item, error) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/fleet.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("device,app_id,tags,seen\nd,a,\"x;y\",1700000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, _ := invtest.Parse(t, Parser{}, data, "fuzz.csv")
		for _, it := range items {
			if it.Device == "" || it.AppID == "" || !strings.HasPrefix(it.Source, "fuzz.csv:") {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
