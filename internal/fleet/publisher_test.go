package fleet_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/policy"
)

var builtin = sync.OnceValues(func() (*catalog.Index, error) {
	return catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
})

func builtinIndex(t testing.TB) *catalog.Index {
	t.Helper()
	ix, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestNormPublisher(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Tencent", "tencent"},
		{"  TENCENT  ", "tencent"},
		{"Tencent Holdings Ltd.", "tencent holdings"},
		{"Tencent Technology (Shenzhen) Company Limited", "tencent technology shenzhen"},
		{"Tencent Technology (Shenzhen) Co., Ltd.", "tencent technology shenzhen"},
		{"Tencent Technology (Shenzhen) Co.,Ltd", "tencent technology shenzhen"},
		{"Baidu, Inc.", "baidu"},
		{"ＴＥＮＣＥＮＴ", "tencent"},
		{"腾讯", "腾讯"},
		{"腾讯科技（深圳）有限公司", "腾讯科技 深圳"},
		{"中兴通讯股份有限公司", "中兴通讯"},
		{"Company", "company"}, // a legal form alone stays: at least one word
		{"Ltd. Inc.", "ltd"},
		{"Tencentative Games", "tencentative games"},
		{"NotTencent Inc", "nottencent"},
		{"Kaspersky Lab, Inc.", "kaspersky lab"},
		{"People's Company Ltd", "peoples"},
		{"", ""},
		{"...", ""},
	} {
		if got := fleet.NormPublisher(tc.in); got != tc.want {
			t.Errorf("NormPublisher(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPublisherAliases is the regression test of issue 10 (13): a
// publisher is matched against the built-in catalog's program rows and
// every entity's name and aliases, as whole normalised names.
func TestPublisherAliases(t *testing.T) {
	at := attribute.New(builtinIndex(t))
	for _, tc := range []struct {
		pub, entity string
	}{
		// docs/inventory.md's own example row (osquery, Intune, CSV).
		{"Tencent", "tencent"},
		{"TENCENT", "tencent"},
		{"tencent", "tencent"},
		{"腾讯", "tencent"},
		{"Tencent Holdings Ltd.", "tencent"},
		{"Tencent Holdings Limited", "tencent"},
		{"Tencent Technology (Shenzhen) Company Limited", "tencent"},
		{"Tencent Technology (Shenzhen) Co., Ltd.", "tencent"},
		{`"Tencent" <wechat@tencent.com>`, "tencent"},
		{"字节跳动", "bytedance"},
		{"Beijing Bytedance Network Technology Co.,Ltd.", "bytedance"},
		{"ByteDance Pte. Ltd.", "bytedance"},
		{"DJI", "dji"},
		{"大疆", "dji"},
		{"SZ DJI Technology Co.,Ltd", "dji"},
		{"华为", "huawei"},
		{"Huawei Device Co., Ltd.", "huawei"},
		{"阿里巴巴", "alibaba"},
		{"百度", "baidu"},
		{"Baidu Inc", "baidu"},
		{"小米", "xiaomi"},
		{"海康威视", "hikvision"},
		{"大华", "dahua"},
		{"中兴", "zte"},
		{"ZTE Corporation", "zte"},
		// Lookalikes and other owners: never a substring, never a guess.
		{"Tencentative", ""},
		{"Tencentative Games", ""},
		{"NotTencent Inc", ""},
		{"Tencent Fan Club LLC", ""},
		{"WeChat Tools Ltd", ""},
		{"TikTok Fan Tools LLC", ""},
		{"腾讯粉丝", ""},
		{"Microsoft Corporation", ""},
		{"Company", ""},
		{"Ltd.", ""},
		{"", ""},
	} {
		t.Run(tc.pub, func(t *testing.T) {
			it := inventory.Item{Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat", Publisher: tc.pub}
			m, ok := fleet.NewMatcher(at, nil).Match(&it)
			got := ""
			if ok {
				got = m.Entity.ID
			}
			if got != tc.entity {
				t.Fatalf("publisher %q matched %q, want %q", tc.pub, got, tc.entity)
			}
			if ok && (m.By != fleet.ByPublisher || m.Value != tc.pub || m.Asset == nil || m.Asset.Source == nil) {
				t.Fatalf("match %+v: want by publisher, the publisher as the value, and a catalog row with its source", m)
			}
		})
	}
}

// TestBanTencentByPublisher checks the verdicts of `fleet check --ban
// tencent` for the docs' WeChat row and lookalikes.
func TestBanTencentByPublisher(t *testing.T) {
	ix := builtinIndex(t)
	p, err := policy.Quick(ix, "tencent")
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
	items := []inventory.Item{
		{Device: "LAPTOP-042", Owner: "alice@example.com", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat", Version: "3.9.12.17", Publisher: "Tencent", Source: "inventory.csv:2"},
		{Device: "LAPTOP-043", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat", Publisher: "腾讯", Source: "inventory.csv:3"},
		{Device: "LAPTOP-044", Platform: "windows", Kind: "program", AppID: "Games", Name: "Games", Publisher: "Tencentative Games", Source: "inventory.csv:4"},
		{Device: "LAPTOP-045", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat", Publisher: "NotTencent Inc", Source: "inventory.csv:5"},
	}
	for i := range items {
		c.Add(&items[i])
	}
	rep := c.Report()
	got := map[string]string{}
	for _, d := range rep.Devices {
		for _, a := range d.Apps {
			got[d.Device] = a.Entity + " " + a.Verdict.String() + " " + a.Catalog
		}
	}
	for dev, want := range map[string]string{
		"LAPTOP-042": "tencent overdue entity-name:Tencent",
		"LAPTOP-043": "tencent overdue entity-name:腾讯",
	} {
		if got[dev] != want {
			t.Errorf("%s: %q, want %q", dev, got[dev], want)
		}
	}
	for _, dev := range []string{"LAPTOP-044", "LAPTOP-045"} {
		if g, ok := got[dev]; ok {
			t.Errorf("%s (a lookalike publisher) flagged: %s", dev, g)
		}
	}
	if rep.Summary.Overdue != 2 {
		t.Errorf("summary %+v, want 2 overdue", rep.Summary)
	}
}

func FuzzNormPublisher(f *testing.F) {
	for _, s := range []string{"Tencent Technology (Shenzhen) Co., Ltd.", "腾讯科技（深圳）有限公司", "ＴＥＮＣＥＮＴ", "S.A.", "foo ltd有限公司", "\xff\xfe", "İstanbul A.Ş."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := fleet.NormPublisher(s)
		if again := fleet.NormPublisher(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("%q -> %q: stray spaces", s, n)
		}
	})
}
