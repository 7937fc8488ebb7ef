package intune

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func TestAppInvRawData(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/AppInvRawData.csv"), "AppInvRawData.csv")
	if err != nil {
		t.Fatal(err)
	}
	const laptop, iphone, pixel = "0f3c5e1a-7b2d-4c9e-8a61-2d4f6b8c0e13", "7e9d1c3b-5a4f-4e2d-b6c8-1f3a5c7e9b21", "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
	want := []inventory.Item{
		{Device: laptop, DeviceName: "LAPTOP-042", Owner: "alice@example.com", Platform: "windows", Kind: "program",
			AppID: "WeChat", Name: "WeChat", Version: "3.9.12.17", Publisher: "Tencent", Source: "AppInvRawData.csv:2"},
		{Device: iphone, DeviceName: "iPhone", Owner: "bob@example.com", Platform: "ios", Kind: "app",
			AppID: "TikTok", Name: "TikTok", Version: "34.5.3", Publisher: "TikTok Pte. Ltd.", Source: "AppInvRawData.csv:3"},
		{Device: laptop, DeviceName: "LAPTOP-042", Owner: "alice@example.com", Platform: "windows", Kind: "program",
			AppID: "Microsoft Edge", Name: "Microsoft Edge", Version: "126.0.2592.68", Publisher: "Microsoft Corporation", Source: "AppInvRawData.csv:4"},
		{Device: pixel, DeviceName: "PIXEL-8", Owner: "carol@example.com", Platform: "android", Kind: "app",
			AppID: "Xiaohongshu", Name: "Xiaohongshu", Version: "8.40.0", Publisher: "xingin", Source: "AppInvRawData.csv:7"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	wantErrs := []string{
		"inventory: intune: AppInvRawData.csv:5: record has 10 fields, header has 13",
		"inventory: intune: AppInvRawData.csv:6: empty application name",
	}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestPortalExport(t *testing.T) {
	items, errs, err := invtest.Parse(t, Parser{}, invtest.Read(t, "testdata/portal-export.csv"), "p.csv")
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	want := []inventory.Item{{Device: "a3f1c9e2-4b6d-4e8a-9c0f-1d2e3f4a5b6c", DeviceName: "MBP-DESIGN-07", Owner: "dan@example.com",
		Platform: "macos", Kind: "app", AppID: "Lark", Name: "Lark", Version: "7.20.8", Publisher: "Beijing Feishu Technology Co. Ltd.", Source: "p.csv:2"}}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     inventory.Item
		fatal    string
	}{
		{name: "name only, numeric platform, OS fallback, short version",
			in: "DeviceName;ApplicationName;ApplicationShortVersion;Platform;OSDescription\nWS-1;WPS Office;12.1;3;Windows 10 Pro\n",
			want: inventory.Item{Device: "WS-1", Platform: "windows", Kind: "program", AppID: "WPS Office", Name: "WPS Office",
				Version: "12.1", Source: "v.csv:2"}},
		{name: "explicit app id",
			in: "Device ID,Device name,App name,Application ID,Version,Platform\nd1,d1,TikTok,com.zhiliaoapp.musically,34.5.3,Android\n",
			want: inventory.Item{Device: "d1", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok",
				Version: "34.5.3", Source: "v.csv:2"}},
		{name: "aggregate refused", in: "ApplicationKey,ApplicationName,ApplicationPublisher,DeviceCount\nk,WeChat,Tencent,12\n",
			fatal: "v.csv:1: header: an aggregate export"},
		{name: "no app column", in: "DeviceName,Version\nx,1\n", fatal: "need an Application name column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, errs, err := invtest.Parse(t, Parser{}, []byte(tc.in), "v.csv")
			if tc.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fatal) {
					t.Fatalf("err = %v, want %q", err, tc.fatal)
				}
				return
			}
			if err != nil || len(errs) > 0 || len(items) != 1 {
				t.Fatal(err, errs, items)
			}
			if d := cmp.Diff(tc.want, items[0]); d != "" {
				t.Errorf("item (-want +got):\n%s", d)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		min  int
	}{
		{string(invtest.Read(t, "testdata/AppInvRawData.csv")), 95},
		{string(invtest.Read(t, "testdata/portal-export.csv")), 80},
	} {
		if got := (Parser{}).Sniff([]byte(tc.head)); got < tc.min {
			t.Errorf("Sniff = %d, want >= %d", got, tc.min)
		}
	}
	for _, head := range []string{"device,app_id\n", "Computer Name,Application Title\n", "ApplicationKey,ApplicationName,DeviceCount\n", ""} {
		if got := (Parser{}).Sniff([]byte(head)); got != 0 {
			t.Errorf("Sniff(%q) = %d, want 0", head, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(invtest.Read(f, "testdata/AppInvRawData.csv"))
	f.Add(invtest.Read(f, "testdata/portal-export.csv"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, _ := invtest.Parse(t, Parser{}, data, "fuzz.csv")
		for _, it := range items {
			if it.Device == "" || it.AppID == "" || !strings.HasPrefix(it.Source, "fuzz.csv:") {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
