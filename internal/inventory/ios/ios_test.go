package ios

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func TestInstalledApplicationListJSON(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/mdm.json"), "mdm.json")
	if err != nil {
		t.Fatal(err)
	}
	g := inventory.Item{Device: "00008110-001A2B3C4D5E801E", DeviceName: "Grace's iPhone", Owner: "grace@example.com",
		Platform: "ios", Kind: "app", Tags: []string{"sales", "apac"}, Source: "mdm.json:2"}
	app := func(base inventory.Item, id, name, v string) inventory.Item {
		base.AppID, base.Name, base.Version = id, name, v
		return base
	}
	ipad := inventory.Item{Device: "00008103-000C1D2E3F40001E", Platform: "ipados", Kind: "app", Source: "mdm.json:17"}
	want := []inventory.Item{
		app(g, "com.zhiliaoapp.musically", "TikTok", "34.5.3"),
		app(g, "com.ss.iphone.ugc.Aweme", "抖音", "30.1.0"),
		app(g, "com.burbn.instagram", "Instagram", "339"),
		app(ipad, "com.xingin.discover", "小红书", "8.40"),
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	wantErrs := []string{
		"inventory: ios: mdm.json:2: empty bundle id",
		"inventory: ios: mdm.json:16: installedapplicationlist is not a list",
		"inventory: ios: mdm.json:20: invalid character '\"' after object key:value pair",
	}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestCSV(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/apps.csv"), "apps.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Item{
		{Device: "DMPXK1ZZJF8J", DeviceName: "Hana's iPad", Owner: "hana@example.com", Platform: "ipados", Kind: "app",
			AppID: "com.einnovation.temu", Name: "Temu", Version: "2.77.0", Source: "apps.csv:2"},
		{Device: "G6TZK2ABCD12", DeviceName: "Ivan's iPhone", Owner: "ivan@example.com", Platform: "ios", Kind: "app",
			AppID: "com.alibaba.aliexpresshd", Name: "AliExpress", Version: "8.110.2", Source: "apps.csv:3"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"inventory: ios: apps.csv:4: empty bundle id"}, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestJSONVariants(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		items    int
		errs     []string
	}{
		{"json lines", "{\"UDID\":\"a\",\"InstalledApplicationList\":[{\"Identifier\":\"x.y\"}]}\n{\"UDID\":\"b\",\"InstalledApplicationList\":[]}\n", 1, nil},
		{"flat rows", `[{"serial_number":"S1","bundleId":"com.a","name":"A","version":"1"},{"device":"d","bundle_id":"com.b"}]`, 2, nil},
		{"flat row without bundle", `[{"device":"d","name":"A"}]`, 0, []string{"x.json:1: neither"}},
		{"no device", `{"InstalledApplicationList":[{"Identifier":"x.y"}]}`, 0, []string{"x.json:1: no device"}},
		{"unclosed array", `[{"device":"d","bundle_id":"com.b"}`, 1, []string{"x.json:1: JSON array not closed"}},
		{"unclosed object", "[\n{\"device\":\"d\"", 0, []string{"x.json:2: object not closed"}},
		{"junk", "[\n7,\n{\"device\":\"d\",\"bundle_id\":\"c.d\"}]", 1, []string{"x.json:2: unexpected '7'"}},
		{"after array", "[]\nx", 0, []string{"x.json:2: data after"}},
		{"bom and macOS", "\xef\xbb\xbf{\"UDID\":\"m\",\"ProductName\":\"MacBookPro18,3\",\"InstalledApplicationList\":[{\"Identifier\":\"com.a\"}]}", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { invtest.Count(t, Parser{}, tc.in, "x.json", tc.items, tc.errs) })
	}
	items, _, _ := invtest.Parse(t, Parser{}, []byte("\xef\xbb\xbf{\"UDID\":\"m\",\"ProductName\":\"MacBookPro18,3\",\"InstalledApplicationList\":[{\"Identifier\":\"com.a\"}]}"), "m.json")
	if len(items) != 1 || items[0].Platform != "macos" {
		t.Errorf("macOS device: %+v", items)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		want int
	}{
		{string(invtest.Read(t, "testdata/mdm.json")), 95},
		{`[{"Identifier":"a","ShortVersion":"1"}]`, 90},
		{`[{"device":"d","bundleId":"x"}]`, 70},
		{string(invtest.Read(t, "testdata/apps.csv")), 75},
		{`[{"bundle_identifier":"com.a","name":"A.app"}]`, 0}, // osqueryi
		{"device,app_id\n", 40},
		{"", 0},
	} {
		if got := (Parser{}).Sniff([]byte(tc.head)); got != tc.want {
			t.Errorf("Sniff(%.40q) = %d, want %d", tc.head, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(invtest.Read(f, "testdata/mdm.json"))
	f.Add(invtest.Read(f, "testdata/apps.csv"))
	f.Add([]byte(`{"UDID":"a","InstalledApplicationList":[{"Identifier":"x.y"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, _ := invtest.Parse(t, Parser{}, data, "fuzz")
		for _, it := range items {
			if it.Device == "" || it.AppID == "" || !strings.HasPrefix(it.Source, "fuzz:") {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
