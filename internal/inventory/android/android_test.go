package android

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func app(dev, id, version, src string) inventory.Item {
	return inventory.Item{Device: dev, Platform: "android", Kind: "app", AppID: id, Version: version, Source: src}
}

func TestPMList(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/R58M123ABC.txt"), "testdata/R58M123ABC.txt")
	if err != nil {
		t.Fatal(err)
	}
	const f = "testdata/R58M123ABC.txt:"
	want := []inventory.Item{
		app("R58M123ABC", "com.zhiliaoapp.musically", "", f+"1"),
		app("R58M123ABC", "com.android.settings", "", f+"2"),
		app("R58M123ABC", "com.tencent.mm", "", f+"3"),
		app("R58M123ABC", "com.ss.android.ugc.trill", "", f+"4"),
		app("R58M123ABC", "com.xingin.xhs", "8040100", f+"5"),
		app("R58M123ABC", "com.smile.gifmaker", "", f+"7"),
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{`inventory: android: testdata/R58M123ABC.txt:6: not a "package:" line`}, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestDumpsys(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/dumpsys.txt"), "dumpsys.txt")
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	want := []inventory.Item{
		{Device: "emulator-5554", Owner: "qa@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically",
			Version: "34.5.3", Source: "dumpsys.txt:14", Seen: seen},
		// com.tencent.mm: installed=false for every user, so not listed.
		{Device: "emulator-5554", Owner: "qa@example.com", Platform: "android", Kind: "app", AppID: "com.android.settings",
			Version: "14", Source: "dumpsys.txt:43", Seen: seen},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "dumpsys.txt:48: bad Package line") {
		t.Errorf("errors = %q", errs)
	}
}

func TestMultiDevice(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/multi.txt"), "-")
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"byod", "sales"}
	want := []inventory.Item{
		{Device: "PIXEL7-A", Platform: "android", Kind: "app", AppID: "com.alibaba.aliexpresshd", Tags: tags, Source: "-:3"},
		{Device: "PIXEL7-A", Platform: "android", Kind: "app", AppID: "com.einnovation.temu", Tags: tags, Source: "-:4"},
		{Device: "PIXEL7-B", Platform: "android", Kind: "app", AppID: "com.whatsapp", Source: "-:6"},
		{Device: "PIXEL7-B", Platform: "android", Kind: "app", AppID: "com.shein.android", Source: "-:8"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], `-:7: unexpected "a" after the package name`) {
		t.Errorf("errors = %q", errs)
	}
}

func TestEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, file, in string
		items          int
		errs           []string
	}{
		{"no device on stdin: reported once", "-", "package:a.b\npackage:c.d\n", 0, []string{"-:1: no device id"}},
		{"device header after anonymous lines", "", "package:a.b\n# device: X\npackage:c.d\n", 1, []string{":1: no device id"}},
		{"label and versionCode fallback", "d.txt", "Packages:\n  Package [a.b] (1):\n    application-label:'Ab'\n    versionCode=7 minSdk=1\n", 1, nil},
		{"package at end of input without users", "d.txt", "Packages:\n  Package [a.b] (1):\n", 1, nil},
		{"CRLF", "d.txt", "package:a.b\r\npackage:c.d\r\n", 2, nil},
		{"empty package", "d.txt", "package:\n", 0, []string{"d.txt:1: not a valid package name"}},
		{"bad seen", "d.txt", "# seen: later\npackage:a\n", 1, []string{"d.txt:1: header"}},
	} {
		t.Run(tc.name, func(t *testing.T) { invtest.Count(t, Parser{}, tc.in, tc.file, tc.items, tc.errs) })
	}
}

func TestSniff(t *testing.T) {
	for _, name := range []string{"testdata/R58M123ABC.txt", "testdata/dumpsys.txt", "testdata/multi.txt"} {
		if got := (Parser{}).Sniff(invtest.Read(t, name)); got < 80 {
			t.Errorf("Sniff(%s) = %d", name, got)
		}
	}
	for _, head := range []string{"device,app_id\n", `{"hostIdentifier":"h"}`, "", "Packages are great\n"} {
		if got := (Parser{}).Sniff([]byte(head)); got != 0 {
			t.Errorf("Sniff(%q) = %d, want 0", head, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/R58M123ABC.txt", "testdata/dumpsys.txt", "testdata/multi.txt"} {
		f.Add(invtest.Read(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, err := invtest.Parse(t, Parser{}, data, "fuzz.txt")
		if err != nil {
			t.Fatalf("Parse returned %v on in-memory input", err)
		}
		for _, it := range items {
			if it.Device == "" || !validName([]byte(it.AppID)) || !strings.HasPrefix(it.Source, "fuzz.txt:") {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
