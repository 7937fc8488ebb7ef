package attribute

import "testing"

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
		// negative controls: look-alikes and shared names
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
