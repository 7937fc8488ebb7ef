package axml

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// sharedDir returns <repo>/../shared/testdata/apk, or skips (see sharedtest).
func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Path(tb, "apk")
}

func readZipEntry(tb testing.TB, path, name string) ([]byte, bool) {
	tb.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			tb.Fatalf("%s: %s: %v", path, name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			tb.Fatalf("%s: %s: %v", path, name, err)
		}
		return b, true
	}
	return nil, false
}

// expected is the subset of oracle.py's JSON the manifest decoder answers.
type expected struct {
	ManifestPresent  bool     `json:"manifest_present"`
	Package          string   `json:"package"`
	VersionName      *string  `json:"version_name"`
	VersionCode      *string  `json:"version_code"`
	MinSDK           *string  `json:"min_sdk"`
	TargetSDK        *string  `json:"target_sdk"`
	ApplicationClass *string  `json:"application_class"`
	Permissions      []string `json:"permissions"`
	Activities       int      `json:"activities"`
	Services         []string `json:"services"`
	Receivers        []string `json:"receivers"`
	Providers        []string `json:"providers"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func names(cs []Component) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

func permSet(m *Manifest) []string {
	set := map[string]bool{}
	for _, p := range m.UsesPermissions {
		if !p.SDK23 {
			set[p.Name] = true
		}
	}
	out := []string{}
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func itoa0(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func TestCorpusManifests(t *testing.T) {
	dir := sharedDir(t)
	files := sharedtest.Glob(t, "apk", "expected", "*.json")
	for _, ef := range files {
		sample := strings.TrimSuffix(filepath.Base(ef), ".json")
		t.Run(sample, func(t *testing.T) {
			raw, err := os.ReadFile(ef)
			if err != nil {
				t.Fatal(err)
			}
			var want expected
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			data, ok := readZipEntry(t, filepath.Join(dir, "samples", sample), "AndroidManifest.xml")
			if !want.ManifestPresent {
				if ok {
					t.Fatalf("androguard saw no manifest, we found one")
				}
				t.Skip("androguard: no AndroidManifest.xml in this sample (nothing to compare)")
			}
			if !ok {
				t.Fatal("AndroidManifest.xml missing")
			}
			m, err := ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			got := expected{
				ManifestPresent: true,
				Package:         m.Package,
				Permissions:     permSet(m),
				Activities:      len(m.Activities),
				Services:        names(m.Services),
				Receivers:       names(m.Receivers),
				Providers:       names(m.Providers),
			}
			vn, vc := m.VersionName, ""
			if m.VersionCode != 0 {
				vc = strconv.FormatInt(m.VersionCode, 10)
			}
			min, target := itoa0(m.MinSDK), itoa0(m.TargetSDK)
			got.VersionName, got.VersionCode, got.MinSDK, got.TargetSDK = &vn, &vc, &min, &target
			want.VersionName, want.VersionCode = ptr(deref(want.VersionName)), ptr(deref(want.VersionCode))
			want.MinSDK, want.TargetSDK = ptr(deref(want.MinSDK)), ptr(deref(want.TargetSDK))
			want.ApplicationClass, got.ApplicationClass = nil, nil
			if want.Permissions == nil {
				want.Permissions = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manifest differs from androguard (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// aaptBadging is what `aapt dump badging` / `dump permissions` say.
type aaptBadging struct {
	Package, VersionCode, VersionName string
	MinSDK, TargetSDK                 string
	UsesPermissions                   []string // from the dump permissions section
	Permissions                       []string // declared <permission>
}

func parseAapt(text string) (aaptBadging, bool) {
	var b aaptBadging
	badging, perms, ok := strings.Cut(text, "---- aapt dump permissions")
	if !ok || strings.Contains(badging, "ERROR: dump failed") {
		return b, false
	}
	attr := func(line, key string) string {
		_, rest, ok := strings.Cut(line, key+"='")
		if !ok {
			return ""
		}
		v, _, _ := strings.Cut(rest, "'")
		return v
	}
	for _, line := range strings.Split(badging, "\n") {
		switch {
		case strings.HasPrefix(line, "package: "):
			b.Package, b.VersionCode, b.VersionName = attr(line, "name"), attr(line, "versionCode"), attr(line, "versionName")
		case strings.HasPrefix(line, "sdkVersion:'"):
			b.MinSDK = strings.Trim(strings.TrimPrefix(line, "sdkVersion:"), "'")
		case strings.HasPrefix(line, "targetSdkVersion:'"):
			b.TargetSDK = strings.Trim(strings.TrimPrefix(line, "targetSdkVersion:"), "'")
		}
	}
	set := map[string]bool{}
	b.UsesPermissions, b.Permissions = []string{}, []string{}
	for _, line := range strings.Split(perms, "\n") {
		switch {
		case strings.HasPrefix(line, "uses-permission"):
			set[attr(line, "name")] = true
		case strings.HasPrefix(line, "permission: "):
			b.Permissions = append(b.Permissions, strings.TrimPrefix(line, "permission: "))
		}
	}
	for p := range set {
		b.UsesPermissions = append(b.UsesPermissions, p)
	}
	sort.Strings(b.UsesPermissions)
	sort.Strings(b.Permissions)
	return b, true
}

func TestCorpusManifestsAapt(t *testing.T) {
	dir := sharedDir(t)
	files := sharedtest.Glob(t, "apk", "expected", "*.aapt.txt")
	for _, ef := range files {
		sample := strings.TrimSuffix(filepath.Base(ef), ".aapt.txt")
		t.Run(sample, func(t *testing.T) {
			raw, err := os.ReadFile(ef)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := parseAapt(string(raw))
			if !ok {
				t.Skip("aapt itself failed on this sample: " + strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
			}
			data, ok := readZipEntry(t, filepath.Join(dir, "samples", sample), "AndroidManifest.xml")
			if !ok {
				t.Fatal("AndroidManifest.xml missing")
			}
			m, err := ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			got := aaptBadging{Package: m.Package, VersionName: m.VersionName, MinSDK: itoa0(m.MinSDK), TargetSDK: itoa0(m.TargetSDK)}
			if m.VersionCode != 0 {
				got.VersionCode = strconv.FormatInt(m.VersionCode, 10)
			}
			// aapt prints the minimum as the target when uses-sdk has none.
			if got.TargetSDK == "" {
				got.TargetSDK = got.MinSDK
			}
			set := map[string]bool{}
			for _, p := range m.UsesPermissions {
				set[p.Name] = true
			}
			got.UsesPermissions = []string{}
			for p := range set {
				got.UsesPermissions = append(got.UsesPermissions, p)
			}
			sort.Strings(got.UsesPermissions)
			got.Permissions = []string{}
			for _, p := range m.Permissions {
				got.Permissions = append(got.Permissions, p.Name)
			}
			sort.Strings(got.Permissions)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manifest differs from aapt (-want +got):\n%s", diff)
			}
		})
	}
}
