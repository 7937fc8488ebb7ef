package attribute

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

var at = func() *Attributor {
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(fmt.Sprintf("built-in catalog: %v", err))
	}
	return New(ix)
}()

func TestLookupIndicators(t *testing.T) {
	tests := []struct {
		ind    string
		kind   string
		entity string // "" = no entity
		role   catalog.Role
		chain  string // an id that must be in the owner chain
	}{
		// hostnames, with the traps
		{"www.tiktok.com", "hostname", "tiktok", catalog.RoleService, "bytedance"},
		{"aws.amazon.com", "hostname", "", "", ""},
		{"ws.amazon.com.example", "hostname", "", "", ""},
		{"weixin.qq.com", "hostname", "tencent", catalog.RoleService, "tencent"},
		{"hkminorshort.weixin.qq.com", "hostname", "tencent", catalog.RoleService, "tencent"},
		{"p16-tiktokcdn-com.akamaized.net", "hostname", "tiktok", catalog.RoleService, "bytedance"},
		{"a1234.akamaized.net", "hostname", "", "", ""},
		{"WWW.TIKTOK.COM.", "hostname", "tiktok", catalog.RoleService, "bytedance"},
		{"nottiktok.com", "hostname", "", "", ""},
		{"mydjiflight.dji.com", "hostname", "dji", catalog.RoleService, "dji"},
		{"www.temu.com", "hostname", "pdd", catalog.RoleService, "pdd"},
		{"host:www.wikipedia.org", "hostname", "", "", ""},
		// addresses: ownership by AS, role by the holder
		{"71.18.8.1", "address", "tiktok-usds", catalog.RoleService, "tiktok-us"},
		{"8.209.76.194", "address", "alibaba-cloud", catalog.RoleHost, "alibaba"},
		{"8.8.8.8", "address", "", "", ""},
		{"192.168.1.1", "address", "", "", ""},
		// AS numbers
		{"AS396986", "asn", "bytedance", catalog.RoleService, "bytedance"},
		{"asn:11983", "asn", "tiktok-usds", catalog.RoleService, "tiktok-us"},
		// apps and SDKs
		{"com.zhiliaoapp.musically", "app", "tiktok", catalog.RoleService, "bytedance"},
		{"com.tencent.mm", "app", "tencent", catalog.RoleService, "tencent"},
		{"com.sina.weibo.sdk.cmd.WbAppActivator", "class", "sina-weibo", catalog.RoleSDK, "sina-weibo"},
		{"Lcom/sina/weibo/sdk/cmd/WbAppActivator;", "class", "sina-weibo", catalog.RoleSDK, "sina-weibo"},
		{"Lcom/tencent/bugly/crashreport/CrashReport;", "class", "tencent", catalog.RoleSDK, "tencent"},
		{"com.google.android.gms.ads.AdView", "class", "", "", ""},
		// MAC OUIs: device maker, or only the chip
		{"60:60:1F:00:00:01", "mac", "dji", catalog.RoleDevice, "dji"},
		{"00:00:5e:00:53:01", "mac", "", "", ""},
		// certificate subjects
		{"cert:Tencent Mobility Limited", "cert-subject", "tencent", catalog.RoleService, "tencent"},
	}
	for _, tc := range tests {
		t.Run(tc.ind, func(t *testing.T) {
			a, kind := at.Lookup(tc.ind)
			if kind != tc.kind {
				t.Errorf("read as %s, want %s", kind, tc.kind)
			}
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
			if a.Role != tc.role {
				t.Errorf("role %q, want %q", a.Role, tc.role)
			}
			inChain := false
			for _, e := range a.Chain() {
				inChain = inChain || e.ID == tc.chain
			}
			if !inChain {
				t.Errorf("chain %v lacks %s", Summarize(a).OwnerChain, tc.chain)
			}
			s := Summarize(a)
			if s.Source.ID == "" || s.Evidence.Rule == "" || s.Evidence.AsOf == "" {
				t.Errorf("attribution without source, rule or date: %+v", s)
			}
		})
	}
}

func TestEspressifIsChipOnly(t *testing.T) {
	ix := at.Index()
	var mac net.HardwareAddr
	for _, a := range ix.Assets() {
		if a.Kind == catalog.KindOUI && a.Entity.ID == "espressif" && len(a.Value) == 8 {
			mac, _ = net.ParseMAC(a.Value + ":00:00:01")
			break
		}
	}
	if mac == nil {
		t.Fatal("no Espressif MA-L in the catalog")
	}
	a := at.MAC(mac)
	if !a.Found() || a.Entity.ID != "espressif" || a.Role != catalog.RoleChip || a.Concern() {
		t.Fatalf("Espressif MAC: %+v (concern %v); want chip-maker, no concern", a, a.Concern())
	}
}

func TestTikTokUSIsNotUnderByteDance(t *testing.T) {
	a := at.Addr(netip.MustParseAddr("71.18.8.1"))
	s := Summarize(a)
	for _, id := range s.OwnerChain {
		if id == "bytedance" {
			t.Fatalf("owner chain %v puts the joint venture under ByteDance", s.OwnerChain)
		}
	}
	if len(s.Minority) == 0 || s.Minority[0] != "bytedance" {
		t.Fatalf("minority owners %v, want bytedance", s.Minority)
	}
	// Before the joint venture closed, the same AS was ByteDance's.
	ix, err := catalog.Open(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	old := Summarize(New(ix).Addr(netip.MustParseAddr("71.18.8.1")))
	found := false
	for _, id := range old.OwnerChain {
		found = found || id == "bytedance"
	}
	if !found {
		t.Errorf("as of 2025-06-01 the chain %v should reach bytedance", old.OwnerChain)
	}
}

func TestPeerNameOutranksAddress(t *testing.T) {
	// A TikTok name on an Alibaba Cloud address: TikTok owns it, Alibaba hosts it.
	r := at.Peer(Peer{Addr: netip.MustParseAddr("8.209.76.194"), Names: []Name{{DNSAnswer, "www.tiktok.com"}}})
	if r.Owner.Entity == nil || r.Owner.Entity.ID != "tiktok" || r.Host.Entity == nil || r.Host.Entity.ID != "alibaba-cloud" {
		t.Fatalf("owner %v host %v", r.Owner.Entity, r.Host.Entity)
	}
	// SNI outranks a DNS answer.
	r = at.Peer(Peer{Names: []Name{{DNSAnswer, "weixin.qq.com"}, {TLSSNI, "www.tiktok.com"}}})
	if r.Owner.Entity.ID != "tiktok" || r.Owner.Kind != TLSSNI {
		t.Fatalf("owner %v by %v", r.Owner.Entity.ID, r.Owner.Kind)
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	name := []byte("hkminorshort.weixin.qq.com")
	addr := netip.MustParseAddr("71.18.8.1")
	mac, _ := net.ParseMAC("60:60:1f:00:00:01")
	allocs := testing.AllocsPerRun(100, func() {
		at.NameBytes(TLSSNI, name)
		at.Addr(addr)
		at.MAC(mac)
		at.Class("Lcom/sina/weibo/sdk/cmd/WbAppActivator;")
		at.Class("com.sina.weibo.sdk.cmd.WbAppActivator")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per lookup", allocs)
	}
}

// CNAME chains: the name the device asked for names the owner; a
// catalogued target in a cloud or CDN names the host; an uncatalogued
// name that leads into an owner's service is that owner's.
func TestPeerCNAMETarget(t *testing.T) {
	for _, tc := range []struct {
		name, asked, target string
		owner, host         string
	}{
		{"a shop's name into its group's cloud", "login.taobao.com", "login.taobao.com.w.kunluncan.aliyuncs.com", "alibaba", "alibaba-cloud"},
		{"unknown name into an owner's service", "cdn.example.net", "v16m.tiktokcdn.com", "tiktok", ""},
		{"unknown name into a cloud", "files.example.net", "bucket.oss-cn-hangzhou.aliyuncs.com", "alibaba-cloud", "alibaba-cloud"},
		{"no target", "www.tiktok.com", "", "tiktok", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := at.Peer(Peer{Names: []Name{{DNSAnswer, tc.asked}}, Target: tc.target})
			if r.Owner.Entity == nil || r.Owner.Entity.ID != tc.owner {
				t.Errorf("owner %v, want %s", r.Owner.Entity, tc.owner)
			}
			switch {
			case tc.host == "" && r.Host.Entity != nil:
				t.Errorf("host %v, want none", r.Host.Entity.ID)
			case tc.host != "" && (r.Host.Entity == nil || r.Host.Entity.ID != tc.host || r.Host.Value != tc.target):
				t.Errorf("host %+v, want %s by %s", r.Host.Entity, tc.host, tc.target)
			}
		})
	}
}
