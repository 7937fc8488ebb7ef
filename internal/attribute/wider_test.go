package attribute

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// TestWiderCatalog checks names added for issue 15 (phone makers, game
// studios, companies behind apps in India's s.69A orders): each gives its
// owner and the owner chain the catalog claims, and look-alikes give nothing.
func TestWiderCatalog(t *testing.T) {
	tests := []struct {
		ind    string
		entity string // "" = no entity
		chain  string // an id that must be in the owner chain
	}{
		// phone makers and their connectivity checks
		{"conn1.oppomobile.com", "oppo", "oppo"},
		{"push.heytapmobi.com", "oppo", "oppo"},
		{"www.oneplus.com", "oneplus", "oppo"},
		{"com.oneplus.market", "oneplus", "oppo"},
		{"www.realme.com", "realme", "realme"},
		{"wifi.vivo.com.cn", "vivo", "vivo"},
		{"com.bbk.appstore", "vivo", "vivo"},
		{"connectivitycheck.hihonor.com", "honor", "honor"},
		{"connectivitycheck.platform.hicloud.com", "huawei", "huawei"},
		{"connect.rom.miui.com", "xiaomi", "xiaomi"},
		{"www.tecno-mobile.com", "transsion", "transsion"},
		{"cert:Guangdong OPPO Mobile Telecommunications Corp., Ltd.", "oppo", "oppo"},
		// game studios: Tencent's own subsidiaries under Tencent, ByteDance's under ByteDance
		{"www.leagueoflegends.com", "riot-games", "tencent"},
		{"com.riotgames.league.wildrift", "riot-games", "tencent"},
		{"game.clashofclans.com", "supercell", "tencent"},
		{"www.huya.com", "huya", "tencent"},
		{"m.mobilelegends.com", "moonton", "bytedance"},
		{"com.mobile.legends", "moonton", "bytedance"},
		{"sdk-os-static.hoyoverse.com", "mihoyo", "mihoyo"},
		{"com.miHoYo.GenshinImpact", "mihoyo", "mihoyo"},
		{"com.netease.idv.googleplay", "netease", "netease"},
		{"www.lilithgames.com", "lilith", "lilith"},
		// negative controls: look-alikes and shared names
		{"clash.com", "", ""},
		{"helpshift.com", "", ""},
		{"oppomobile.com.example", "", ""},
		{"notvivo.com", "", ""},
		{"heytapmobi.net", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.ind, func(t *testing.T) {
			a, _ := at.Lookup(tc.ind)
			got := ""
			if a.Found() {
				got = a.Entity.ID
			}
			if got != tc.entity {
				t.Fatalf("entity %q, want %q", got, tc.entity)
			}
			if !a.Found() {
				return
			}
			inChain := false
			for _, e := range a.Chain() {
				inChain = inChain || e.ID == tc.chain
			}
			if !inChain {
				t.Errorf("chain %v lacks %s", Summarize(a).OwnerChain, tc.chain)
			}
			if s := Summarize(a); s.Source.ID == "" || s.Evidence.AsOf == "" {
				t.Errorf("attribution without source or date: %+v", s)
			}
		})
	}
}

// TestHuyaOwnerByDate: Huya was JOYY's until Tencent took control on
// 2020-04-03, and the owner chain follows the date of the run.
func TestHuyaOwnerByDate(t *testing.T) {
	for _, tc := range []struct {
		date        time.Time
		want, notIn string
	}{
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "joyy", "tencent"},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "tencent", "joyy"},
	} {
		ix, err := catalog.Open(tc.date)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := New(ix).Lookup("www.huya.com")
		if !a.Found() || a.Entity.ID != "huya" {
			t.Fatalf("%s: www.huya.com gives %+v, want huya", tc.date.Format("2006-01-02"), a)
		}
		chain := Summarize(a).OwnerChain
		has := map[string]bool{}
		for _, id := range chain {
			has[id] = true
		}
		if !has[tc.want] || has[tc.notIn] {
			t.Errorf("%s: owner chain %v, want %s and not %s", tc.date.Format("2006-01-02"), chain, tc.want, tc.notIn)
		}
	}
}
