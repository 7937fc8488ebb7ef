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
		// platforms and companies behind apps in India's s.69A orders
		{"passport.didiglobal.com", "didi", "didi"},
		{"com.sdu.didi.psnger", "didi", "didi"},
		{"www.wps.com", "kingsoft-office", "kingsoft"},
		{"www.seasungames.com", "seasun", "kingsoft"},
		{"ks3-cn-beijing.ksyuncs.ksyun.com", "kingsoft-cloud", "kingsoft-cloud"},
		{"www.camscanner.com", "intsig", "intsig"},
		{"www.mgtv.com", "hunan-broadcasting", "hunan-broadcasting"},
		{"m.tantanapp.com", "tantan", "hello-group"},
		{"com.lenovo.anyshare.gps", "shareit", "shareit"},
		{"www.duba.com", "cheetah-mobile", "cheetah-mobile"},
		{"com.xingin.xhs", "xiaohongshu", "xiaohongshu"},
		{"tv.danmaku.bili", "bilibili", "bilibili"},
		{"www.yy.com", "baidu", "baidu"},
		{"www.bigo.tv", "bigo", "joyy"},
		{"www.pathofexile.com", "grinding-gear-games", "tencent"},
		{"68:87:1C:00:00:01", "motorola-mobility", "lenovo"},
		{"www.lenovo.com", "lenovo", "lenovo"},
		{"sdkapi.kurogame.com", "kuro-games", "tencent"},
		{"chat.d1.funcom.com", "funcom", "tencent"},
		{"mafiacity.yottagames.com", "yotta-games", "yotta-games"},
		{"www.elex-tech.com", "elex", "elex"},
		// IoT makers and more game companies
		{"a1.tuya.com", "tuya", "tuya"},
		{"security-app.eufylife.com", "anker", "anker"},
		{"www.roborock.com", "roborock", "roborock"},
		{"ak.hypergryph.com", "hypergryph", "hypergryph"},
		{"www.taptap.com", "xd", "xd"},
		// negative controls: look-alikes and shared names
		{"www.motorola.com", "", ""},
		{"momoshop.com.tw", "", ""},
		{"ksmobile.com", "", ""},
		{"yystatic.com", "", ""},
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

// TestNoGuessedParents: where no source establishes control, the owner chain
// stops at the company itself (Kingsoft's stake in Kingsoft Cloud, BBK and
// OPPO, vivo, realme).
func TestNoGuessedParents(t *testing.T) {
	for _, ind := range []string{"www.ksyun.com", "www.realme.com", "www.vivo.com", "www.oppo.com", "www.lilithgames.com", "www.roborock.com"} {
		a, _ := at.Lookup(ind)
		if !a.Found() {
			t.Fatalf("%s: not found", ind)
		}
		if chain := Summarize(a).OwnerChain; len(chain) != 1 {
			t.Errorf("%s: owner chain %v, want the company alone", ind, chain)
		}
	}
}

// TestGarenaIsNotTencent: Tencent's stake in Sea (Garena) is a minority one,
// shown beside the owner, never above it.
func TestGarenaIsNotTencent(t *testing.T) {
	a, _ := at.Lookup("ff.garena.com")
	if !a.Found() || a.Entity.ID != "sea" {
		t.Fatalf("ff.garena.com gives %+v, want sea", a)
	}
	s := Summarize(a)
	for _, id := range s.OwnerChain {
		if id == "tencent" {
			t.Fatalf("owner chain %v puts Sea under Tencent", s.OwnerChain)
		}
	}
	if len(s.Minority) == 0 || s.Minority[0] != "tencent" {
		t.Errorf("minority owners %v, want tencent", s.Minority)
	}
}
