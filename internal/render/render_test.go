package render

import "testing"

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {71514, "69.8 KiB"},
		{843080, "823.3 KiB"}, {1 << 20, "1.0 MiB"}, {5 << 30, "5.0 GiB"},
		{1 << 40, "1.0 TiB"}, {1<<64 - 1, "16.0 EiB"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestEntity(t *testing.T) {
	for _, tc := range []struct{ id, name, reg, ctl, want string }{
		{"tiktok", "TikTok Pte. Ltd.", "SG", "CN", "TikTok Pte. Ltd., SG — controlled from CN"},
		{"dji", "SZ DJI Technology Co., Ltd.", "CN", "CN", "SZ DJI Technology Co., Ltd., CN"},
		{"dji", "SZ DJI Technology Co., Ltd.", "cn", "", "SZ DJI Technology Co., Ltd., CN"},
		{"bytedance", "", "", "", "bytedance"},
		{"x", "X Ltd.", "", "CN", "X Ltd. — controlled from CN"},
	} {
		if got := Entity(tc.id, tc.name, tc.reg, tc.ctl); got != tc.want {
			t.Errorf("Entity(%q, %q, %q, %q) = %q, want %q", tc.id, tc.name, tc.reg, tc.ctl, got, tc.want)
		}
	}
	if got := Jurisdictions("sg", "CN"); got != "SG — controlled from CN" {
		t.Errorf("Jurisdictions = %q", got)
	}
	if got := List("bis-entity-list", true); got != "bis-entity-list(unverified)" {
		t.Errorf("List = %q", got)
	}
}
