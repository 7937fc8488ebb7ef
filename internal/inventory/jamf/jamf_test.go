package jamf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func TestComputers(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/computers.csv"), "computers.csv")
	if err != nil {
		t.Fatal(err)
	}
	alice := inventory.Item{Device: "C02XK1ZZJGH5", DeviceName: "MBP-ALICE", Owner: "alice@example.com", Platform: "macos", Kind: "app",
		Tags: []string{"department:Sales", "building:HQ"}}
	tiktok, wechat := alice, alice
	tiktok.AppID, tiktok.Name, tiktok.Version, tiktok.Source = "com.zhiliaoapp.musically", "TikTok", "34.5.3", "computers.csv:2"
	wechat.AppID, wechat.Name, wechat.Version, wechat.Source = "com.tencent.xinWeChat", "WeChat", "3.8.9", "computers.csv:3"
	want := []inventory.Item{
		tiktok, wechat,
		{Device: "C02YL2AAJGH6", DeviceName: "MBP-BOB", Owner: "bob", Platform: "macos", Kind: "app", AppID: "com.google.Chrome",
			Name: "Google Chrome", Version: "125.0.6422.142", Tags: []string{"department:Engineering"}, Source: "computers.csv:4"},
		// MBP-CAROL has no application in the search: no item, no error.
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	wantErrs := []string{
		"inventory: jamf: computers.csv:6: record has 9 fields, header has 10",
		"inventory: jamf: computers.csv:7: empty serial number and device name",
	}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestMobile(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/mobile.csv"), "mobile.csv")
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	want := []inventory.Item{
		{Device: "DMPXK1ZZJF8J", DeviceName: "Frank's iPad", Owner: "frank@example.com", Platform: "ipados", Kind: "app",
			AppID: "com.xingin.discover", Name: "Xiaohongshu", Version: "8.40", Source: "mobile.csv:2"},
		{Device: "F2LXK0J9Q1GC", DeviceName: "iPhone", Owner: "grace@example.com", Platform: "ios", Kind: "app",
			AppID: "com.einnovation.temu", Name: "Temu", Version: "2.77.0", Source: "mobile.csv:3"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestTitleOnlyAndFatal(t *testing.T) {
	items, _, err := invtest.Parse(t, Parser{}, []byte("Computer Name,Application Title,Application Version\nmac-1,WeChat.app,3.8\n"), "t.csv")
	if err != nil || len(items) != 1 {
		t.Fatal(err, items)
	}
	want := inventory.Item{Device: "mac-1", Platform: "macos", Kind: "app", AppID: "WeChat.app", Name: "WeChat", Version: "3.8", Source: "t.csv:2"}
	if d := cmp.Diff(want, items[0]); d != "" {
		t.Errorf("item (-want +got):\n%s", d)
	}
	for in, msg := range map[string]string{
		"Computer Name,Username\nx,y\n":         "display an application field",
		"Username,Application Title\nx,y.app\n": "need a Serial Number",
	} {
		if _, _, err := invtest.Parse(t, Parser{}, []byte(in), "t.csv"); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: err = %v, want %q", in, err, msg)
		}
	}
}

func TestSniff(t *testing.T) {
	if got := (Parser{}).Sniff(invtest.Read(t, "testdata/computers.csv")); got != 90 {
		t.Errorf("computers: %d", got)
	}
	if got := (Parser{}).Sniff(invtest.Read(t, "testdata/mobile.csv")); got != 80 {
		t.Errorf("mobile: %d", got)
	}
	for _, head := range []string{"device,app_id\n", "DeviceName,ApplicationName\n", ""} {
		if got := (Parser{}).Sniff([]byte(head)); got != 0 {
			t.Errorf("Sniff(%q) = %d, want 0", head, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(invtest.Read(f, "testdata/computers.csv"))
	f.Add(invtest.Read(f, "testdata/mobile.csv"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, _ := invtest.Parse(t, Parser{}, data, "fuzz.csv")
		for _, it := range items {
			if it.Device == "" || it.AppID == "" || !strings.HasPrefix(it.Source, "fuzz.csv:") {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
