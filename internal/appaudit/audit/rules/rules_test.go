package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/axml"
	"github.com/outflow-dev/outflow/internal/appaudit/elfscan"
)

// app is an extract.App with empty hit tables sized for set's plan.
func app(set *Set, m *axml.Manifest) *extract.App {
	w := set.Plan().Want()
	a := &extract.App{Kind: apk.KindAPK, Manifest: m, HasManifest: m != nil, HasResources: true,
		Signers: []extract.Signer{{Subject: "CN=x"}}}
	a.Code.Methods = make([]extract.Hit, len(w.Methods))
	a.Code.Fields = make([]extract.Hit, len(w.Fields))
	a.Code.Types = make([]extract.Hit, len(w.Types))
	a.Code.Strings = make([]extract.Hit, len(w.Strings))
	a.Code.Substrings = make([]extract.Hit, len(w.Substrings))
	a.Code.ClassNames = make([][]string, len(w.ClassPrefixes))
	return a
}

func hitMethod(t *testing.T, set *Set, a *extract.App, class, name string, invoked bool) {
	t.Helper()
	i := slices.Index(set.Plan().Want().Methods, extract.Member{Class: class, Name: name})
	if i < 0 {
		t.Fatalf("%s->%s is not probed", class, name)
	}
	a.Code.Methods[i] = extract.Hit{Files: 1, Where: "classes.dex", Invoked: invoked}
}

func hitClasses(t *testing.T, set *Set, a *extract.App, prefix string, names ...string) {
	t.Helper()
	i := slices.Index(set.Plan().Want().ClassPrefixes, prefix)
	if i < 0 {
		t.Fatalf("%s is not probed", prefix)
	}
	a.Code.ClassNames[i] = names
}

func findingByID(r Result, id string) *finding.Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

func perms(ps ...string) *axml.Manifest {
	m := &axml.Manifest{Package: "a.b"}
	for _, p := range ps {
		m.UsesPermissions = append(m.UsesPermissions, axml.UsesPermission{Name: p})
	}
	return m
}

func TestDataCategories(t *testing.T) {
	set := Compile(nil, 0)
	for _, tc := range []struct {
		name  string
		perms []string
		api   [2]string
		id    string
		from  []string
		note  bool
	}{
		{"permission only", []string{"android.permission.READ_CONTACTS"}, [2]string{}, "contacts", []string{"permission"}, false},
		{"api only, guarded", nil, [2]string{"Landroid/location/LocationManager;", "getLastKnownLocation"}, "location", []string{"api"}, true},
		{"api only, unguarded", nil, [2]string{"Landroid/content/ClipboardManager;", "getPrimaryClip"}, "clipboard", []string{"api"}, false},
		{"both", []string{"android.permission.READ_PHONE_STATE"}, [2]string{"Landroid/telephony/TelephonyManager;", "getDeviceId"}, "phone-identifiers", []string{"permission", "api"}, false},
		{"billing permission with a dot", []string{"com.android.vending.BILLING"}, [2]string{}, "payment", []string{"permission"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := app(set, perms(tc.perms...))
			if tc.api[0] != "" {
				hitMethod(t, set, a, tc.api[0], tc.api[1], true)
			}
			r := set.Evaluate(a)
			if len(r.Data) != 1 {
				t.Fatalf("%d categories: %+v", len(r.Data), r.Data)
			}
			d := r.Data[0]
			if d.ID != tc.id || !slices.Equal(d.From, tc.from) || (d.Note != "") != tc.note {
				t.Errorf("got %+v", d)
			}
			if f := findingByID(r, IDDataPrefix+tc.id); f == nil || f.Severity != finding.Info {
				t.Errorf("no info finding for the category: %+v", r.Findings)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	set := Compile(nil, 0)
	boot := perms("android.permission.RECEIVE_BOOT_COMPLETED")
	boot.Receivers = []axml.Component{{Kind: "receiver", Name: "a.b.Boot", IntentFilters: []axml.IntentFilter{{Actions: []string{"android.intent.action.BOOT_COMPLETED", "android.intent.action.MY_PACKAGE_REPLACED"}}}}}
	installer := perms()
	installer.Activities = []axml.Component{{Kind: "activity", Name: "a.b.Open", IntentFilters: []axml.IntentFilter{{MIMETypes: []string{apkMIME}}}}}
	for _, tc := range []struct {
		name  string
		m     *axml.Manifest
		setup func(t *testing.T, a *extract.App)
		id    string
		sev   finding.Severity
	}{
		{"boot receiver", boot, nil, IDBoot, finding.Low},
		{"package-replaced receiver", boot, nil, IDRestart, finding.Low},
		{"APK intent filter", installer, nil, IDInstall, finding.Medium},
		{"install permission", perms("android.permission.REQUEST_INSTALL_PACKAGES"), nil, IDInstall, finding.Medium},
		{"PackageInstaller referenced only", perms(), func(t *testing.T, a *extract.App) {
			i := slices.Index(set.Plan().Want().Types, "Landroid/content/pm/PackageInstaller;")
			a.Code.Types[i] = extract.Hit{Files: 1, Where: "classes.dex"}
		}, IDInstall, finding.Low},
		{"DexClassLoader", perms(), func(t *testing.T, a *extract.App) {
			hitMethod(t, set, a, "Ldalvik/system/DexClassLoader;", "<init>", true)
		}, IDDynamicCode, finding.Medium},
		{"nested APK", perms(), func(t *testing.T, a *extract.App) {
			a.Code.Nested = []extract.Nested{{Path: "assets/p.apk", Kind: "apk"}}
		}, IDDynamicCode, finding.Medium},
		{"PathClassLoader only", perms(), func(t *testing.T, a *extract.App) {
			i := slices.Index(set.Plan().Want().Types, "Ldalvik/system/PathClassLoader;")
			a.Code.Types[i] = extract.Hit{Files: 1, Where: "classes.dex"}
		}, IDDynamicCode, finding.Low},
		{"Runtime.exec", perms(), func(t *testing.T, a *extract.App) {
			hitMethod(t, set, a, "Ljava/lang/Runtime;", "exec", false)
		}, IDShell, finding.Low},
		{"debugger check", perms(), func(t *testing.T, a *extract.App) {
			hitMethod(t, set, a, "Landroid/os/Debug;", "isDebuggerConnected", true)
		}, IDDebugger, finding.Low},
		{"Weibo cmd classes", perms(), func(t *testing.T, a *extract.App) {
			hitClasses(t, set, a, "Lcom/sina/weibo/sdk/cmd/", "Lcom/sina/weibo/sdk/cmd/AppInvokeCmd;", "Lcom/sina/weibo/sdk/cmd/WbAppActivator;")
		}, IDWeiboCmd, finding.High},
		{"hidden DEX", perms(), func(t *testing.T, a *extract.App) { a.Code.SkippedDex = []string{"classes3.dex"} }, IDHiddenDex, finding.Medium},
		{"broken code", perms(), func(t *testing.T, a *extract.App) { a.Code.Malformed = 3 }, IDBrokenCode, finding.Low},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := app(set, tc.m)
			if tc.setup != nil {
				tc.setup(t, a)
			}
			r := set.Evaluate(a)
			f := findingByID(r, tc.id)
			if f == nil {
				t.Fatalf("no %s finding: %+v", tc.id, r.Findings)
			}
			if f.Severity != tc.sev || len(f.Evidence) == 0 {
				t.Errorf("severity %s evidence %v, want %s", f.Severity, f.Evidence, tc.sev)
			}
			if tc.id == IDWeiboCmd && (!f.Concern || f.Evidence[0].Value != "com.sina.weibo.sdk.cmd.WbAppActivator") {
				t.Errorf("weibo finding %+v", f)
			}
			if tc.id != IDWeiboCmd && f.Concern {
				t.Errorf("%s marked as concern: capabilities alone are not", tc.id)
			}
		})
	}
}

func TestPackers(t *testing.T) {
	set := Compile(nil, 0)
	t.Run("medium marks only", func(t *testing.T) {
		a := app(set, perms())
		a.NameMarks = []extract.Mark{{Where: "lib/arm64-v8a/libshell.so", Mark: elfscan.Mark{Protector: "Legu", Vendor: "Tencent", Kind: elfscan.KindFileName, Evidence: "libshell.so", Confidence: elfscan.Medium}}}
		f := findingByID(set.Evaluate(a), IDPacker)
		if f == nil || f.Severity != finding.Low || f.Subject != "Legu (Tencent)" {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("stub class, application and library", func(t *testing.T) {
		m := perms()
		m.Application.Name = "com.stub.StubApp"
		a := app(set, m)
		hitClasses(t, set, a, "Lcom/stub/StubApp", "Lcom/stub/StubApp;")
		a.Native = []extract.Native{{Entry: "lib/arm64-v8a/libjiagu_a64.so", Marks: []elfscan.Mark{{Protector: "Jiagu", Vendor: "Qihoo 360", Kind: elfscan.KindFileName, Evidence: "libjiagu_a64.so", Confidence: elfscan.High}}}}
		r := set.Evaluate(a)
		var packers []finding.Finding
		for _, f := range r.Findings {
			if f.ID == IDPacker {
				packers = append(packers, f)
			}
		}
		if len(packers) != 1 || packers[0].Severity != finding.Medium || len(packers[0].Evidence) != 3 {
			t.Fatalf("%+v", packers)
		}
	})
}

func TestInputFindings(t *testing.T) {
	set := Compile(nil, 0)
	a := app(set, nil)
	a.HasManifest = true
	a.Signers = nil
	a.Problems = []extract.Problem{
		{Where: "AndroidManifest.xml", Part: "manifest", Err: errors.New("bad chunk")},
		{Where: "classes2.dex", Part: "dex", Err: &apk.LimitError{File: "x.apk", Entry: "classes2.dex", Err: apk.ErrCompressionRatio, Value: 1000, Limit: 200}},
		{Where: "classes3.dex", Part: "dex", Err: errors.New("not a DEX file")},
	}
	r := set.Evaluate(a)
	for _, id := range []string{IDBadManifest, IDLimit, IDBadDex, IDUnsigned} {
		if findingByID(r, id) == nil {
			t.Errorf("no %s: %+v", id, r.Findings)
		}
	}
	if f := findingByID(r, IDLimit); f != nil && !strings.Contains(f.Evidence[0].Value, "compression ratio") {
		t.Errorf("limit evidence %+v", f.Evidence)
	}
	a = app(set, nil)
	a.Kind = apk.KindZIP
	if findingByID(set.Evaluate(a), IDNoManifest) == nil {
		t.Error("no no-manifest finding for a ZIP without a manifest")
	}
	a.Kind = apk.KindDEX
	if findingByID(set.Evaluate(a), IDNoManifest) != nil {
		t.Error("no-manifest finding for a bare DEX file")
	}
}

func TestEncodedStrings(t *testing.T) {
	set := Compile(nil, 0)
	a := app(set, perms())
	a.Code.Stats.Measured, a.Code.Stats.Encoded = 1000, 600
	if findingByID(set.Evaluate(a), IDEncoded) == nil {
		t.Error("60 % encoded constants not reported")
	}
	a.Code.Stats.Encoded = 60
	if findingByID(set.Evaluate(a), IDEncoded) != nil {
		t.Error("6 % encoded constants reported (the corpus reaches 4 %)")
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Help == "" || r.Category == "" {
			t.Errorf("rule %s lacks a title, help or category", r.ID)
		}
		if got, ok := Lookup(r.ID); !ok || got.ID != r.ID {
			t.Errorf("Lookup(%s) = %+v, %v", r.ID, got, ok)
		}
	}
	// Every finding a rule can raise is registered.
	for _, id := range []string{IDAppOwner, IDSigner, IDSDK, IDEndpoint, IDPolicy, IDWeiboCmd, IDInstall, IDDynamicCode, IDShell,
		IDBoot, IDRestart, IDPacker, IDRoot, IDEmulator, IDDebugger, IDEncoded, IDHiddenDex, IDBrokenCode, IDNoManifest,
		IDBadManifest, IDNoResources, IDBadRes, IDBadDex, IDBadArchive, IDLimit, IDBadSig, IDUnsigned, IDDataPrefix + "location"} {
		if !seen[id] {
			t.Errorf("%s not registered", id)
		}
	}
}

// TestPlanHasNoDuplicates: every probe is asked for once; probes sharing
// a slot all get its hits.
func TestPlanHasNoDuplicates(t *testing.T) {
	w := Compile(nil, 0).Plan().Want()
	for name, list := range map[string][]string{"types": w.Types, "strings": w.Strings, "substrings": w.Substrings, "classes": w.ClassPrefixes} {
		seen := map[string]bool{}
		for _, s := range list {
			if seen[s] {
				t.Errorf("%s: %q twice", name, s)
			}
			seen[s] = true
		}
	}
	seen := map[extract.Member]bool{}
	for _, m := range w.Methods {
		if seen[m] {
			t.Errorf("method %v twice", m)
		}
		seen[m] = true
	}
}
