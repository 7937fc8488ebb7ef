package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// corpusOrSkip returns the shared APK corpus, ../shared/testdata/apk: it
// skips in a clone without ../shared and fails where ../shared lacks it.
func corpusOrSkip(t testing.TB) string {
	t.Helper()
	sharedtest.Path(t, "apk", "expected")
	return sharedtest.Path(t, "apk")
}

var (
	catOnce sync.Once
	catIx   *catalog.Index
	catErr  error
)

// builtinAttributor opens the embedded catalog once per test binary.
func builtinAttributor(t testing.TB) *attribute.Attributor {
	t.Helper()
	catOnce.Do(func() { catIx, catErr = catalog.Open(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) })
	if catErr != nil {
		t.Fatalf("built-in catalog: %v", catErr)
	}
	return attribute.New(catIx)
}

type oracle struct {
	Package      *string        `json:"package"`
	VersionName  *string        `json:"version_name"`
	VersionCode  *string        `json:"version_code"`
	MinSDK       *string        `json:"min_sdk"`
	TargetSDK    *string        `json:"target_sdk"`
	Permissions  []string       `json:"permissions"`
	ClassCount   int            `json:"class_count"`
	PrefixCounts map[string]int `json:"sdk_prefix_class_counts"`
}

// aapt is what `aapt dump badging` and `aapt dump permissions` say.
type aapt struct {
	ok                            bool
	pkg, versionCode, versionName string
	sdk, target, label            string
	permissions                   []string
}

func readAapt(t *testing.T, path string) aapt {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a aapt
	quoted := func(line, key string) string {
		i := strings.Index(line, key+"='")
		if i < 0 {
			return ""
		}
		rest := line[i+len(key)+2:]
		return rest[:strings.IndexByte(rest, '\'')]
	}
	inPerms := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "---- aapt dump permissions":
			inPerms = true
		case strings.HasPrefix(line, "package: name=") && !inPerms:
			a.ok = true
			a.pkg, a.versionCode, a.versionName = quoted(line, "name"), quoted(line, "versionCode"), quoted(line, "versionName")
		case strings.HasPrefix(line, "sdkVersion:'") && !inPerms:
			a.sdk = strings.Trim(strings.TrimPrefix(line, "sdkVersion:"), "'")
		case strings.HasPrefix(line, "targetSdkVersion:'") && !inPerms:
			a.target = strings.Trim(strings.TrimPrefix(line, "targetSdkVersion:"), "'")
		case strings.HasPrefix(line, "application-label:'") && !inPerms:
			a.label = strings.TrimSuffix(strings.TrimPrefix(line, "application-label:'"), "'")
		case inPerms && strings.HasPrefix(line, "uses-permission: name="):
			p := quoted(line, "name")
			if !slices.Contains(a.permissions, p) {
				a.permissions = append(a.permissions, p)
			}
		}
	}
	slices.Sort(a.permissions)
	return a
}

func sampleNames(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "samples", "*.apk"))
	if len(m) == 0 {
		t.Fatalf("no samples in %s", dir)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

var (
	repOnce sync.Once
	reps    map[string]*Report
)

// corpusReports audits every sample once per test binary.
func corpusReports(t *testing.T) (string, map[string]*Report) {
	dir := corpusOrSkip(t)
	at := builtinAttributor(t)
	repOnce.Do(func() {
		a := New(DefaultConfig(), at, nil, nil)
		reps = map[string]*Report{}
		for _, s := range sampleNames(t, dir) {
			reps[s] = a.Audit(context.Background(), filepath.Join(dir, "samples", s))
		}
	})
	return dir, reps
}

func TestCorpusManifestAgainstAndroguardAndAapt(t *testing.T) {
	dir, reps := corpusReports(t)
	for _, s := range sampleNames(t, dir) {
		t.Run(s, func(t *testing.T) {
			r := reps[s]
			if r.Error != "" {
				t.Fatalf("error: %s", r.Error)
			}
			var o oracle
			b, err := os.ReadFile(filepath.Join(dir, "expected", s+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			if r.ClassCount != o.ClassCount {
				t.Errorf("class_count %d, androguard %d", r.ClassCount, o.ClassCount)
			}
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			num := func(n int64) string {
				if n == 0 {
					return ""
				}
				return strconv.FormatInt(n, 10)
			}
			got := []string{r.Package, r.VersionName, num(r.VersionCode), num(int64(r.MinSDK)), num(int64(r.TargetSDK))}
			want := []string{str(o.Package), str(o.VersionName), str(o.VersionCode), str(o.MinSDK), str(o.TargetSDK)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("package, version name, version code, min, target (-androguard +ours):\n%s", diff)
			}
			if !slices.Equal(r.Permissions, o.Permissions) && !(len(r.Permissions) == 0 && len(o.Permissions) == 0) {
				t.Errorf("permissions (-androguard +ours):\n%s", cmp.Diff(o.Permissions, r.Permissions))
			}
			ap := readAapt(t, filepath.Join(dir, "expected", s+".aapt.txt"))
			if !ap.ok {
				return // aapt refused the file (a patch APK with no manifest)
			}
			got = []string{r.Package, num(r.VersionCode), r.VersionName, num(int64(r.MinSDK)), num(int64(r.TargetSDK)), r.Label}
			want = []string{ap.pkg, ap.versionCode, ap.versionName, ap.sdk, ap.target, ap.label}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("package, version code, version name, sdk, target, label (-aapt +ours):\n%s", diff)
			}
			if !slices.Equal(r.Permissions, ap.permissions) && !(len(r.Permissions) == 0 && len(ap.permissions) == 0) {
				t.Errorf("permissions (-aapt +ours):\n%s", cmp.Diff(ap.permissions, r.Permissions))
			}
		})
	}
}

// packerPrefixes of the oracle are packers, reported as packer findings.
var packerPrefixes = map[string]bool{"secneo_bangcle": true, "qihoo_jiagu_stub": true, "ijiami": true}

// TestCorpusSDKPrefixes: every SDK prefix of concern that androguard's class
// list shows is found, and where the catalog has the same prefix, with the
// same class count.
func TestCorpusSDKPrefixes(t *testing.T) {
	dir, reps := corpusReports(t)
	prefixes := oraclePrefixes(t, dir)
	for _, s := range sampleNames(t, dir) {
		t.Run(s, func(t *testing.T) {
			r := reps[s]
			var o oracle
			b, _ := os.ReadFile(filepath.Join(dir, "expected", s+".json"))
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			for key, n := range o.PrefixCounts {
				if n == 0 || packerPrefixes[key] {
					continue
				}
				p := prefixes[key]
				found := false
				for _, sdk := range r.SDKs {
					d := "L" + strings.ReplaceAll(sdk.ID, ".", "/") + "/"
					if strings.HasPrefix(d, p) || strings.HasPrefix(p, d) {
						found = true
					}
					if d == p && sdk.ClassCount != n {
						t.Errorf("%s: %d classes, androguard %d", sdk.ID, sdk.ClassCount, n)
					}
				}
				if !found {
					t.Errorf("androguard shows %d classes under %s (%s); no SDK reported", n, p, key)
				}
			}
		})
	}
}

func oraclePrefixes(t *testing.T, dir string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "oracle.py"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "PREFIXES = {")
	end := strings.Index(s[start:], "\n}")
	out := map[string]string{}
	for _, line := range strings.Split(s[start:start+end], "\n") {
		if f := strings.Split(line, "\""); len(f) >= 4 {
			out[f[1]] = f[3]
		}
	}
	if len(out) < 10 {
		t.Fatal("oracle.py: PREFIXES not found")
	}
	return out
}

func findingIDs(r *Report) []string {
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestCorpusWeiboInstaller(t *testing.T) {
	_, reps := corpusReports(t)
	for _, tc := range []struct {
		sample string
		want   bool
	}{
		{"weibo_WeiboSDKDemo_v3.1.4.apk", true},
		{"weibo_weibosdkdemo_app-release.apk", true},
		{"weibo_weibo.sdk.android.demo.apk", false},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			r := reps[tc.sample]
			got := slices.Contains(findingIDs(r), rules.IDWeiboCmd)
			if got != tc.want {
				t.Fatalf("weibo-cmd-installer: %v, want %v (findings %v)", got, tc.want, findingIDs(r))
			}
			var cmdSDK *SDK
			for i := range r.SDKs {
				if r.SDKs[i].ID == "com.sina.weibo.sdk.cmd" {
					cmdSDK = &r.SDKs[i]
				}
			}
			if (cmdSDK != nil) != tc.want {
				t.Fatalf("SDK com.sina.weibo.sdk.cmd listed: %v, want %v", cmdSDK != nil, tc.want)
			}
			if !tc.want {
				return
			}
			if cmdSDK.ClassCount != 13 {
				t.Errorf("cmd classes %d, want 13 (androguard)", cmdSDK.ClassCount)
			}
			if !slices.Equal(cmdSDK.OwnerChain, []string{"sina-weibo", "sina"}) {
				t.Errorf("owner chain %v", cmdSDK.OwnerChain)
			}
			var ev []string
			for _, f := range r.Findings {
				if f.ID == rules.IDWeiboCmd {
					for _, e := range f.Evidence {
						ev = append(ev, e.Value)
					}
				}
			}
			for _, want := range []string{"com.sina.weibo.sdk.cmd.WbAppActivator", "com.sina.weibo.sdk.cmd.AppInstallCmdExecutor", "http://api.weibo.cn/2/client/common_config"} {
				if !slices.Contains(ev, want) {
					t.Errorf("evidence lacks %s: %v", want, ev)
				}
			}
			if !r.Concern {
				t.Error("not of concern")
			}
		})
	}
}

func TestCorpusControls(t *testing.T) {
	_, reps := corpusReports(t)
	for _, s := range []string{"exodus_instapaper.apk", "exodus_blooddonation.apk"} {
		t.Run(s, func(t *testing.T) {
			r := reps[s]
			if r.Concern {
				t.Errorf("control app of concern: %v", findingIDs(r))
			}
			if len(r.SDKs) > 0 {
				t.Errorf("SDKs in a control app: %+v", r.SDKs)
			}
			for _, e := range r.Endpoints {
				if e.Attributed() {
					t.Errorf("endpoint %s attributed to %s", e.Host, e.Entity)
				}
			}
			for _, f := range r.Findings {
				if f.Concern {
					t.Errorf("finding of concern %s", f.ID)
				}
			}
			if len(r.Endpoints) == 0 {
				t.Error("no endpoints at all: the host scan read nothing")
			}
		})
	}
}

// TestCorpusExpectedFindings pins what the shared samples are known to
// contain (testdata/README.md of the corpus).
func TestCorpusExpectedFindings(t *testing.T) {
	_, reps := corpusReports(t)
	for _, tc := range []struct {
		sample   string
		sdks     []string // each must be listed
		findings []string // each must be raised
	}{
		{"mob_ShareSDK-Sample-2.6.3.apk", []string{"cn.sharesdk", "com.mob", "com.alipay"}, []string{rules.IDSDK}},
		{"tencent_bugly_hotfix_app-release.apk", []string{"com.tencent.bugly", "com.tencent.tinker"}, []string{rules.IDDynamicCode, rules.IDInstall}},
		{"tencent_vassonic_sonic-sample.apk", []string{"com.tencent.sonic"}, nil},
		{"meituan_robust_app-release.apk", []string{"com.meituan.robust"}, []string{rules.IDDynamicCode}},
		{"meituan_robust_patch.apk", []string{"com.meituan.robust"}, []string{rules.IDNoManifest}},
		{"alibaba_arouter-demo-1.5.2.apk", []string{"com.alibaba.android.arouter"}, nil},
		{"qihoo360_replugin_demo3.apk", []string{"com.qihoo360.replugin"}, nil},
		{"weibo_WeiboSDKDemo_v3.1.4.apk", []string{"com.sina.weibo.sdk", "com.sina.weibo.sdk.cmd"}, []string{rules.IDWeiboCmd, rules.IDInstall, rules.IDEndpoint}},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			r := reps[tc.sample]
			var ids []string
			for _, s := range r.SDKs {
				ids = append(ids, s.ID)
			}
			for _, want := range tc.sdks {
				if !slices.Contains(ids, want) {
					t.Errorf("SDK %s not listed (have %v)", want, ids)
				}
			}
			for _, want := range tc.findings {
				if !slices.Contains(findingIDs(r), want) {
					t.Errorf("finding %s not raised (have %v)", want, findingIDs(r))
				}
			}
			if !r.Concern {
				t.Error("not of concern")
			}
		})
	}
}

// TestSDKTableMatchesCatalog: the descriptor-keyed table answers as the
// catalog's own LookupSDK does, on every class of the corpus.
func TestSDKTableMatchesCatalog(t *testing.T) {
	dir := corpusOrSkip(t)
	at := builtinAttributor(t)
	tab := newSDKTable(at.Index())
	files, _ := filepath.Glob(filepath.Join(dir, "expected", "*.classes.txt"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range strings.Split(string(b), "\n") {
			if c == "" {
				continue
			}
			n++
			var got string
			if i := tab.classify([]byte(c)); i >= 0 {
				got = tab.assets[i].Value
			}
			var want string
			if a := at.Index().LookupSDK(c); a != nil {
				want = a.Value
			}
			if got != want {
				t.Fatalf("%s: table %q, catalog %q", c, got, want)
			}
		}
	}
	if n < 10000 {
		t.Fatalf("only %d classes checked", n)
	}
}
