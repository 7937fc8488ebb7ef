package extract

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// corpusOrSkip returns the shared APK corpus, ../shared/testdata/apk: it
// skips in a clone without ../shared and fails where ../shared lacks it.
func corpusOrSkip(t testing.TB) string {
	t.Helper()
	sharedtest.Path(t, "apk", "expected")
	return sharedtest.Path(t, "apk")
}

// oracle is the part of expected/NAME.json (androguard 3.4 via oracle.py)
// this package answers for.
type oracle struct {
	Package       *string        `json:"package"`
	VersionName   *string        `json:"version_name"`
	VersionCode   *string        `json:"version_code"`
	MinSDK        *string        `json:"min_sdk"`
	TargetSDK     *string        `json:"target_sdk"`
	Permissions   []string       `json:"permissions"`
	DexFiles      []string       `json:"dex_files"`
	NativeLibs    []string       `json:"native_libs"`
	ClassCount    int            `json:"class_count"`
	PrefixCounts  map[string]int `json:"sdk_prefix_class_counts"`
	URLHostsInDex []string       `json:"url_hosts_in_dex"`
}

func readOracle(t *testing.T, dir, sample string) oracle {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected", sample+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var o oracle
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("%s: %v", sample, err)
	}
	return o
}

func samples(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "samples", "*.apk"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// prefixPlan counts classes under a fixed list of descriptor prefixes
// (first match wins, the list sorted longest first).
func prefixPlan(prefixes []string) *Plan {
	sorted := slices.Clone(prefixes)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	idx := map[string]int{}
	for i, p := range prefixes {
		idx[p] = i
	}
	return NewPlan(Want{
		NumSDKs: len(prefixes),
		SDK: func(d []byte) int {
			for _, p := range sorted {
				if strings.HasPrefix(string(d), p) {
					return idx[p]
				}
			}
			return -1
		},
		Methods: []Member{{"Landroid/telephony/TelephonyManager;", "getDeviceId"}},
		Strings: []string{"application/vnd.android.package-archive"},
	})
}

func TestCorpusAgainstAndroguard(t *testing.T) {
	dir := corpusOrSkip(t)
	for _, s := range samples(t, dir) {
		t.Run(s, func(t *testing.T) {
			o := readOracle(t, dir, s)
			app, err := Read(context.Background(), filepath.Join(dir, "samples", s), DefaultConfig(), prefixPlan(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := app.Code.Classes, o.ClassCount; got != want {
				t.Errorf("classes = %d, androguard %d", got, want)
			}
			if diff := cmp.Diff(o.DexFiles, app.Code.DexFiles); diff != "" {
				t.Errorf("dex files (-androguard +ours):\n%s", diff)
			}
			if o.Package == nil || *o.Package == "" {
				if app.Manifest != nil && app.Manifest.Package != "" {
					t.Errorf("package %q where androguard reads none", app.Manifest.Package)
				}
				return
			}
			m := app.Manifest
			if m == nil {
				t.Fatalf("no manifest: %v", app.Problems)
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
			got := []string{m.Package, m.VersionName, num(m.VersionCode), num(int64(m.MinSDK)), num(int64(m.TargetSDK))}
			want := []string{str(o.Package), str(o.VersionName), str(o.VersionCode), str(o.MinSDK), str(o.TargetSDK)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("package, version name, code, min, target (-androguard +ours):\n%s", diff)
			}
			var perms []string
			for _, p := range m.UsesPermissions {
				if !slices.Contains(perms, p.Name) {
					perms = append(perms, p.Name)
				}
			}
			slices.Sort(perms)
			if diff := cmp.Diff(o.Permissions, perms, cmpEmpty); diff != "" {
				t.Errorf("permissions (-androguard +ours):\n%s", diff)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

// TestCorpusPrefixCounts checks the per-SDK class counts against
// androguard's counts for the oracle's own prefixes.
func TestCorpusPrefixCounts(t *testing.T) {
	dir := corpusOrSkip(t)
	for _, s := range samples(t, dir) {
		t.Run(s, func(t *testing.T) {
			o := readOracle(t, dir, s)
			// One prefix at a time: the oracle counts overlapping prefixes
			// (Lcom/tencent/ and Lcom/tencent/bugly/) independently.
			keys := make([]string, 0, len(o.PrefixCounts))
			for k := range o.PrefixCounts {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			prefixes := oraclePrefixes(t, dir)
			for _, k := range keys {
				if o.PrefixCounts[k] == 0 {
					continue
				}
				app, err := Read(context.Background(), filepath.Join(dir, "samples", s), DefaultConfig(), prefixPlan([]string{prefixes[k]}))
				if err != nil {
					t.Fatal(err)
				}
				if got := app.Code.SDKClasses[0]; got != o.PrefixCounts[k] {
					t.Errorf("%s (%s): %d classes, androguard %d", k, prefixes[k], got, o.PrefixCounts[k])
				}
			}
		})
	}
}

// oraclePrefixes reads the PREFIXES table of oracle.py.
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
		f := strings.Split(line, "\"")
		if len(f) >= 4 {
			out[f[1]] = f[3]
		}
	}
	if len(out) == 0 {
		t.Fatal("oracle.py: no PREFIXES")
	}
	return out
}

// TestCorpusHosts: every http(s) host androguard sees in the DEX strings
// is among ours.
func TestCorpusHosts(t *testing.T) {
	dir := corpusOrSkip(t)
	for _, s := range samples(t, dir) {
		t.Run(s, func(t *testing.T) {
			o := readOracle(t, dir, s)
			app, err := Read(context.Background(), filepath.Join(dir, "samples", s), DefaultConfig(), prefixPlan(nil))
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, h := range app.Code.Hosts {
				if h.InDex {
					have[h.Name] = true
				}
			}
			for _, u := range o.URLHostsInDex {
				h := strings.ToLower(u[strings.Index(u, "://")+3:])
				if i := strings.LastIndexByte(h, ':'); i >= 0 {
					h = h[:i]
				}
				h = strings.TrimSuffix(h, ".")
				if !strings.Contains(h, ".") || strings.HasPrefix(h, ".") {
					continue // "graph." and ".facebook.com": fragments glued at run time, not hosts
				}
				if !have[h] {
					t.Errorf("host %s (androguard %s) not found", h, u)
				}
			}
		})
	}
}
