// Package fleettest is the fixture catalog of the fleet tests: the
// policy's fixture (ByteDance and its TikTok subsidiary, Huawei, Acme...)
// with app ids and program publishers added, so that tests do not depend
// on the built-in catalog's contents.
//
// It is imported by tests only and must never import a source, sink or
// command package.
package fleettest

import (
	"testing"
	"testing/fstest"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy/policytest"
)

// Apps is the fixture layer:
//
//	tiktok-pte (under bytedance): android/ios com.zhiliaoapp.musically, ios com.ss.iphone.ugc.Ame
//	bytedance: android com.lemon.lvoverseas (CapCut), publisher "ByteDance Pte. Ltd."
//	tencent (CN): android com.tencent.mm, ios com.tencent.xin; publishers
//	  "Tencent Technology (Shenzhen) Company Limited", "Tencent", "Tencent Meeting"
//	tiktok-us (19.9 % bytedance, not in its chain): android com.tiktokus.app
//	acme (US): android com.acme.notes
var Apps = fstest.MapFS{
	"entities/tencent.yaml": {Data: []byte("id: tencent\nname: Tencent Holdings Ltd.\njurisdiction: CN\nroles: [app-owner]\nsource: fixture\nas_of: 2026-01-01\n")},
	"assets/apps.csv": {Data: []byte(`entity,kind,value,role,name,source,as_of,status,note
tiktok-pte,android-app,com.zhiliaoapp.musically,,TikTok,fixture,2026-01-01,,
tiktok-pte,ios-app,com.zhiliaoapp.musically,,TikTok,fixture,2026-01-01,,
tiktok-pte,ios-app,com.ss.iphone.ugc.Ame,,TikTok,fixture,2026-01-01,,
bytedance,android-app,com.lemon.lvoverseas,,CapCut,fixture,2026-01-01,,
bytedance,program,ByteDance Pte. Ltd.,,CapCut (desktop),fixture,2026-01-01,,
tencent,android-app,com.tencent.mm,,WeChat,fixture,2026-01-01,,
tencent,ios-app,com.tencent.xin,,WeChat,fixture,2026-01-01,,
tencent,program,Tencent Technology (Shenzhen) Company Limited,,WeChat,fixture,2026-01-01,,
tencent,program,Tencent,,WeChat,fixture,2026-01-01,,
tencent,program,Tencent Meeting,,Tencent Meeting,fixture,2026-01-01,,
tiktok-us,android-app,com.tiktokus.app,,TikTok (US),fixture,2026-01-01,,
acme,android-app,com.acme.notes,,Notes,fixture,2026-01-01,,
`)},
}

// Index compiles the fixture catalog.
func Index(tb testing.TB) *catalog.Index {
	tb.Helper()
	ix, err := Compile()
	if err != nil {
		tb.Fatalf("fixture catalog: %v", err)
	}
	return ix
}

// Compile is Index without a testing.TB, for fuzz and benchmark setup.
func Compile() (*catalog.Index, error) {
	return policytest.Compile(catalog.Layer{Name: "fleet-fixture", FS: Apps})
}
