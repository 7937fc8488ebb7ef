package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/policy"
)

func mustDex(t testing.TB, s dextest.Spec) []byte {
	t.Helper()
	b, err := dextest.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustZip(t testing.TB, files ...apkbuild.File) []byte {
	t.Helper()
	b, err := apkbuild.Zip(files...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manifestFile(m apkbuild.Manifest) apkbuild.File {
	return apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()}
}

func auditBytes(t testing.TB, a *Auditor, name string, b []byte) *Report {
	t.Helper()
	return a.AuditReader(context.Background(), name, bytes.NewReader(b), int64(len(b)))
}

func finds(r *Report, id string) []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func sdkByID(r *Report, id string) *SDK {
	for i := range r.SDKs {
		if r.SDKs[i].ID == id {
			return &r.SDKs[i]
		}
	}
	return nil
}

func dataByID(r *Report, id string) *rules.DataCategory {
	for i := range r.DataCategories {
		if r.DataCategories[i].ID == id {
			return &r.DataCategories[i]
		}
	}
	return nil
}

// droneApp is a small app built like DJI GO 4: the Weibo SDK with its cmd
// package, phone identifiers read, apps installed.
func droneApp(t testing.TB) []byte {
	m := apkbuild.Manifest{Package: "com.example.drone", VersionCode: 7, VersionName: "4.3.36", MinSDK: 21, TargetSDK: 28,
		Permissions: []string{"android.permission.READ_PHONE_STATE", "android.permission.REQUEST_INSTALL_PACKAGES", "android.permission.RECEIVE_BOOT_COMPLETED"},
		Label:       "Drone",
		Components:  []apkbuild.Component{{Kind: "receiver", Name: "com.example.drone.Boot", Actions: []string{"android.intent.action.BOOT_COMPLETED"}}},
	}
	d := mustDex(t, dextest.Spec{
		Classes: []string{
			"Lcom/example/drone/Main;",
			"Lcom/sina/weibo/sdk/auth/WbAuth;",
			"Lcom/sina/weibo/sdk/cmd/WbAppActivator;",
			"Lcom/sina/weibo/sdk/cmd/AppInstallCmdExecutor;",
		},
		Strings: []string{"http://api.weibo.cn/2/client/common_config", "https://www.example.org/help"},
		Methods: []dextest.MethodSpec{
			{Class: "Landroid/telephony/TelephonyManager;", Name: "getDeviceId", Proto: "()Ljava/lang/String;"},
			{Class: "Ljava/lang/Runtime;", Name: "exec", Proto: "(Ljava/lang/String;)Ljava/lang/Process;"},
		},
	})
	return mustZip(t, manifestFile(m), apkbuild.File{Name: "classes.dex", Data: d})
}

func TestBuiltDroneApp(t *testing.T) {
	a := New(DefaultConfig(), builtinAttributor(t), nil, nil)
	r := auditBytes(t, a, "drone.apk", droneApp(t))
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if r.Package != "com.example.drone" || r.VersionName != "4.3.36" || r.VersionCode != 7 || r.Label != "Drone" || r.ClassCount != 4 {
		t.Errorf("identity: %q %q %d %q classes %d", r.Package, r.VersionName, r.VersionCode, r.Label, r.ClassCount)
	}
	if s := sdkByID(r, "com.sina.weibo.sdk"); s == nil || s.ClassCount != 3 || !slices.Equal(s.OwnerChain, []string{"sina-weibo", "sina"}) {
		t.Errorf("Weibo SDK: %+v", s)
	}
	if s := sdkByID(r, "com.sina.weibo.sdk.cmd"); s == nil || s.ClassCount != 2 {
		t.Errorf("Weibo cmd SDK: %+v", s)
	}
	if f := finds(r, rules.IDWeiboCmd); len(f) != 1 || f[0].Severity != finding.High || f[0].Evidence[0].Value != "http://api.weibo.cn/2/client/common_config" ||
		f[0].Evidence[1].Value != "com.sina.weibo.sdk.cmd.WbAppActivator" {
		t.Errorf("weibo-cmd-installer: %+v", f)
	}
	if f := finds(r, rules.IDInstall); len(f) != 1 || f[0].Severity != finding.Medium {
		t.Errorf("install-packages: %+v", f)
	}
	if f := finds(r, rules.IDShell); len(f) != 1 || f[0].Evidence[0].Kind != finding.EvAPICall {
		t.Errorf("shell-exec: %+v", f)
	}
	if f := finds(r, rules.IDBoot); len(f) != 1 {
		t.Errorf("boot-start: %+v", f)
	}
	d := dataByID(r, "phone-identifiers")
	if d == nil || !slices.Equal(d.From, []string{"permission", "api"}) || d.APIs[0].Value != "android.telephony.TelephonyManager.getDeviceId" {
		t.Errorf("phone identifiers: %+v", d)
	}
	var weiboHost *Endpoint
	for i, e := range r.Endpoints {
		if e.Host == "api.weibo.cn" {
			weiboHost = &r.Endpoints[i]
		}
		if e.Host == "www.example.org" && e.Attributed() {
			t.Errorf("www.example.org attributed to %s", e.Entity)
		}
	}
	if weiboHost == nil || !weiboHost.Attributed() || weiboHost.Entity != "sina-weibo" {
		t.Errorf("api.weibo.cn endpoint: %+v", weiboHost)
	}
	if !r.Concern || r.Verdict != nil {
		t.Errorf("concern %v verdict %+v", r.Concern, r.Verdict)
	}
	if f := finds(r, rules.IDNoResources); len(f) != 1 {
		t.Errorf("no-resources: %+v", f)
	}
	if f := finds(r, rules.IDUnsigned); len(f) != 1 {
		t.Errorf("unsigned: %+v", f)
	}
}

func TestBuiltVerdicts(t *testing.T) {
	at := builtinAttributor(t)
	app := droneApp(t)
	for _, tc := range []struct {
		ban     []string
		action  string
		concern bool
	}{
		{[]string{"sina"}, "block", true}, // the owner of the SDK's maker
		{[]string{"CN"}, "block", true},   // a jurisdiction
		{[]string{"bytedance"}, "allow", false},
	} {
		t.Run(strings.Join(tc.ban, ","), func(t *testing.T) {
			pol, err := policy.Quick(at.Index(), tc.ban...)
			if err != nil {
				t.Fatal(err)
			}
			r := auditBytes(t, New(DefaultConfig(), at, pol, nil), "drone.apk", app)
			if r.Verdict == nil || r.Verdict.Action != tc.action || r.Concern != tc.concern {
				t.Fatalf("verdict %+v concern %v, want %s %v", r.Verdict, r.Concern, tc.action, tc.concern)
			}
			if tc.action == "block" && !strings.HasPrefix(r.Verdict.Because, "sdk com.sina.weibo.sdk") {
				t.Errorf("because %q", r.Verdict.Because)
			}
			if got := len(finds(r, rules.IDPolicy)); got != map[bool]int{true: 1, false: 0}[tc.concern] {
				t.Errorf("%d policy findings", got)
			}
		})
	}
}

func TestBuiltApps(t *testing.T) {
	clean := apkbuild.Manifest{Package: "org.example.clean", VersionCode: 1, VersionName: "1", MinSDK: 24, TargetSDK: 34, Permissions: []string{"android.permission.INTERNET"}}
	cleanDex := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/clean/Main;"}, Strings: []string{"https://www.example.org/"}})
	plugin := mustZip(t, apkbuild.File{Name: "classes.dex", Data: mustDex(t, dextest.Spec{Classes: []string{"Lcom/tencent/bugly/crashreport/CrashReport;", "Lorg/example/plugin/P;"}})})
	loader := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/host/Main;"}, Methods: []dextest.MethodSpec{
		{Class: "Ldalvik/system/DexClassLoader;", Name: "<init>", Proto: "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V"}}})
	dup := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/A;", "Lorg/example/B;"}})
	dup2 := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/B;", "Lorg/example/C;"}})
	var enc []string
	for range 300 {
		b := make([]byte, 33)
		rand.Read(b)
		enc = append(enc, base64.StdEncoding.EncodeToString(b))
	}
	encDex := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/E;"}, Strings: enc})
	jiagu := apkbuild.Manifest{Package: "org.example.packed", VersionCode: 1, Application: "com.stub.StubApp"}
	jiaguDex := mustDex(t, dextest.Spec{Classes: []string{"Lcom/stub/StubApp;"}})
	big := make([]byte, 4<<20) // zeros: a 1000:1 deflate ratio

	for _, tc := range []struct {
		name  string
		file  []byte
		cfg   func(*Config)
		check func(t *testing.T, r *Report)
	}{
		{"clean app", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: cleanDex}), nil, func(t *testing.T, r *Report) {
			if r.Concern || len(r.SDKs) > 0 || len(r.Endpoints) != 1 || r.Endpoints[0].Attributed() {
				t.Errorf("concern %v sdks %v endpoints %+v", r.Concern, r.SDKs, r.Endpoints)
			}
			for _, f := range r.Findings {
				if f.Severity > finding.Info {
					t.Errorf("finding %s (%s)", f.ID, f.Severity)
				}
			}
		}},
		{"nested plug-in and class loader", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: loader}, apkbuild.File{Name: "assets/plugin.apk", Data: plugin}), nil, func(t *testing.T, r *Report) {
			if r.ClassCount != 1 || r.EmbeddedClassCount != 2 {
				t.Errorf("classes %d embedded %d", r.ClassCount, r.EmbeddedClassCount)
			}
			s := sdkByID(r, "com.tencent.bugly")
			if s == nil || s.ClassCount != 0 || s.EmbeddedClassCount != 1 {
				t.Errorf("bugly in the plug-in: %+v", s)
			}
			f := finds(r, rules.IDDynamicCode)
			if len(f) != 1 || f[0].Severity != finding.Medium {
				t.Fatalf("dynamic code: %+v", f)
			}
			var kinds []string
			for _, e := range f[0].Evidence {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Contains(kinds, finding.EvNested) || !slices.Contains(kinds, finding.EvAPIRef) {
				t.Errorf("evidence kinds %v", kinds)
			}
		}},
		{"multidex with a gap", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: dup}, apkbuild.File{Name: "classes2.dex", Data: dup2}, apkbuild.File{Name: "classes4.dex", Data: cleanDex}), nil, func(t *testing.T, r *Report) {
			if !slices.Equal(r.DexFiles, []string{"classes.dex", "classes2.dex", "classes4.dex"}) || r.ClassCount != 4 {
				t.Errorf("dex %v classes %d", r.DexFiles, r.ClassCount)
			}
			if f := finds(r, rules.IDHiddenDex); len(f) != 1 || f[0].Evidence[0].Value != "classes4.dex" {
				t.Errorf("hidden-dex: %+v", f)
			}
		}},
		{"encoded strings", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: encDex}), nil, func(t *testing.T, r *Report) {
			if f := finds(r, rules.IDEncoded); len(f) != 1 {
				t.Errorf("encoded-strings: %+v (measured %d encoded %d)", f, r.Stats.StringsMeasured, r.Stats.StringsEncoded)
			}
		}},
		{"packer stub, library name and application class", mustZip(t, manifestFile(jiagu), apkbuild.File{Name: "classes.dex", Data: jiaguDex},
			apkbuild.File{Name: "lib/arm64-v8a/libjiagu_a64.so", Data: []byte("not really an ELF file")}), nil, func(t *testing.T, r *Report) {
			f := finds(r, rules.IDPacker)
			if len(f) != 1 || f[0].Subject != "Jiagu (Qihoo 360)" || f[0].Severity != finding.Medium || len(f[0].Evidence) < 3 {
				t.Errorf("packer: %+v", f)
			}
		}},
		{"no manifest (a patch)", mustZip(t, apkbuild.File{Name: "classes.dex", Data: cleanDex}), nil, func(t *testing.T, r *Report) {
			if r.Kind != "zip" || r.Error != "" || r.ClassCount != 1 || len(finds(r, rules.IDNoManifest)) != 1 {
				t.Errorf("kind %q error %q classes %d findings %v", r.Kind, r.Error, r.ClassCount, findingIDs(r))
			}
		}},
		{"not a zip", []byte("this is not an archive at all, just text"), nil, func(t *testing.T, r *Report) {
			// Not cleared: an app that cannot be read fails closed.
			if r.Error == "" || !r.Concern || len(r.Incomplete) != 1 || r.Incomplete[0].Part != "app" || len(finds(r, rules.IDIncomplete)) != 1 {
				t.Errorf("error %q concern %v incomplete %+v", r.Error, r.Concern, r.Incomplete)
			}
		}},
		{"truncated zip", droneApp(t)[:300], nil, func(t *testing.T, r *Report) {
			if r.Error == "" {
				t.Errorf("no error for a truncated zip: %+v", r.Findings)
			}
		}},
		{"zip bomb", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: cleanDex}, apkbuild.File{Name: "classes2.dex", Data: big}), nil, func(t *testing.T, r *Report) {
			if r.Error != "" || r.ClassCount != 1 {
				t.Errorf("error %q classes %d", r.Error, r.ClassCount)
			}
			if f := finds(r, rules.IDLimit); len(f) != 1 || !strings.Contains(f[0].Evidence[0].Value, "compression ratio") {
				t.Errorf("limit-reached: %+v", f)
			}
			if f := finds(r, rules.IDIncomplete); !r.Concern || len(f) != 1 || !f[0].Concern || len(r.Incomplete) != 1 ||
				r.Incomplete[0] != (Gap{Part: "dex", Where: "classes2.dex", Reason: f[0].Evidence[0].Value, Limit: true}) {
				t.Errorf("concern %v, incomplete %+v, finding %+v", r.Concern, r.Incomplete, f)
			}
		}},
		{"entry over a configured limit", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: cleanDex}, apkbuild.File{Name: "classes2.dex", Data: enc64k(t)}),
			func(c *Config) { c.Extract.Archive.MaxEntrySize = 16 << 10 }, func(t *testing.T, r *Report) {
				if f := finds(r, rules.IDLimit); len(f) != 1 || !strings.Contains(f[0].Evidence[0].Value, "entry too large") {
					t.Errorf("limit-reached: %+v", f)
				}
				if r.ClassCount != 1 {
					t.Errorf("classes %d", r.ClassCount)
				}
			}},
		{"more hosts than the host limit", mustZip(t, manifestFile(clean), apkbuild.File{Name: "classes.dex", Data: mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/clean/Main;"},
			Strings: []string{"https://a.example.org/", "https://b.example.org/", "https://c.example.org/"}})}),
			func(c *Config) { c.Extract.MaxHosts = 2 }, func(t *testing.T, r *Report) {
				// Hosts decide concern without a policy: a cut list is a gap.
				if !r.EndpointsTruncated || !r.Concern || len(r.Incomplete) != 1 || r.Incomplete[0].Part != "hosts" || !r.Incomplete[0].Limit {
					t.Errorf("truncated %v concern %v incomplete %+v", r.EndpointsTruncated, r.Concern, r.Incomplete)
				}
			}},
		{"bare DEX", cleanDex, nil, func(t *testing.T, r *Report) {
			if r.Kind != "dex" || r.ClassCount != 1 || len(r.Endpoints) != 1 || len(finds(r, rules.IDNoManifest)) != 0 {
				t.Errorf("kind %q classes %d endpoints %d findings %v", r.Kind, r.ClassCount, len(r.Endpoints), findingIDs(r))
			}
		}},
		{"XAPK", mustZip(t, apkbuild.File{Name: "manifest.json", Data: []byte(`{"package_name":"com.example.drone"}`)},
			apkbuild.File{Name: "com.example.drone.apk", Data: droneApp(t)},
			apkbuild.File{Name: "config.arm64_v8a.apk", Data: mustZip(t, apkbuild.File{Name: "lib/arm64-v8a/libfoo.so", Data: []byte("x")})}), nil, func(t *testing.T, r *Report) {
			if r.Kind != "xapk" || r.Package != "com.example.drone" || r.ClassCount != 4 || sdkByID(r, "com.sina.weibo.sdk.cmd") == nil || len(r.NativeLibs) != 1 {
				t.Errorf("kind %q package %q classes %d sdks %v native %v", r.Kind, r.Package, r.ClassCount, r.SDKs, r.NativeLibs)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			r := auditBytes(t, New(cfg, builtinAttributor(t), nil, nil), "app.apk", tc.file)
			tc.check(t, r)
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("report does not marshal: %v", err)
			}
		})
	}
}

// enc64k is a 64 KiB DEX file (strings of random text).
func enc64k(t testing.TB) []byte {
	var ss []string
	for len(strings.Join(ss, "")) < 64<<10 {
		b := make([]byte, 48)
		rand.Read(b)
		ss = append(ss, base64.StdEncoding.EncodeToString(b))
	}
	return mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/Big;"}, Strings: ss})
}

// TestMalformedManifests: each of the 22 crafted manifests, zipped into an
// APK, gives a report with aapt's package or a manifest-malformed finding,
// and the code is audited either way.
func TestMalformedManifests(t *testing.T) {
	dir := corpusOrSkip(t)
	b, err := os.ReadFile("../axml/testdata/malformed_oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var oracle map[string]struct {
		Aapt struct {
			Package     string `json:"package"`
			VersionCode string `json:"version_code"`
			Error       string `json:"error"`
		} `json:"aapt_badging"`
	}
	if err := json.Unmarshal(b, &oracle); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "axml-malformed", "*.xml"))
	if len(files) != 22 {
		t.Fatalf("%d malformed manifests, want 22", len(files))
	}
	code := mustDex(t, dextest.Spec{Classes: []string{"Lorg/example/Main;"}})
	a := New(DefaultConfig(), builtinAttributor(t), nil, nil)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			m, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := auditBytes(t, a, name, mustZip(t, apkbuild.File{Name: "AndroidManifest.xml", Data: m}, apkbuild.File{Name: "classes.dex", Data: code}))
			if r.Error != "" || r.ClassCount != 1 {
				t.Fatalf("error %q classes %d: the rest of the app must still be audited", r.Error, r.ClassCount)
			}
			o, ok := oracle[name]
			if !ok {
				t.Fatal("not in the oracle")
			}
			bad := len(finds(r, rules.IDBadManifest)) == 1
			switch {
			case o.Aapt.Package != "":
				if r.Package != o.Aapt.Package || bad {
					t.Errorf("package %q (malformed finding %v), aapt %q", r.Package, bad, o.Aapt.Package)
				}
			default:
				if !bad || r.Package != "" {
					t.Errorf("aapt refuses it (%s); we read package %q, malformed finding %v", o.Aapt.Error, r.Package, bad)
				}
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	a := New(DefaultConfig(), builtinAttributor(t), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := droneApp(t)
	r := a.AuditReader(ctx, "drone.apk", bytes.NewReader(b), int64(len(b)))
	if r.Error == "" {
		t.Fatal("no error after cancellation")
	}
}

func TestAuditAllGoesOnAfterBadApps(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "b-good.apk")
	bad := filepath.Join(dir, "a-bad.apk")
	if err := os.WriteFile(good, droneApp(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, errs := Expand([]string{dir, filepath.Join(dir, "missing.apk")})
	if len(files) != 2 || len(errs) != 1 {
		t.Fatalf("files %v errs %v", files, errs)
	}
	var seen []int
	reps := New(DefaultConfig(), builtinAttributor(t), nil, nil).AuditAll(context.Background(), files, func(done int, _ *Report) { seen = append(seen, done) })
	if len(reps) != 2 || reps[0].Error == "" || !reps[0].Concern || reps[1].Error != "" || !reps[1].Concern {
		t.Fatalf("reports: %+v", reps)
	}
	if !slices.Equal(seen, []int{1, 2}) {
		t.Errorf("progress %v", seen)
	}
	if s := Summarize(reps); s != (Summary{Apps: 2, Concern: 2, Incomplete: 1, Errors: 1}) {
		t.Errorf("summary %+v", s)
	}
	cfg := DefaultConfig()
	cfg.Jobs = 3
	par := New(cfg, builtinAttributor(t), nil, nil).AuditAll(context.Background(), append(files, files...), nil)
	if len(par) != 4 || par[0].File != files[0] || par[3].File != files[1] || par[2].Error == "" || !par[3].Concern {
		t.Errorf("parallel batch out of order: %v", par)
	}
}
