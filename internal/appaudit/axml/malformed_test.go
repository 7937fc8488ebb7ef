package axml

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type oracleEntry struct {
	Androguard struct {
		Error            string `json:"error"`
		Valid            bool   `json:"valid"`
		Package          string `json:"package"`
		VersionCode      any    `json:"version_code"`
		VersionName      any    `json:"version_name"`
		MinSDK           any    `json:"min_sdk"`
		TargetSDK        any    `json:"target_sdk"`
		ApplicationClass any    `json:"application_class"`
		Permissions      []string
		Activities       []string
		Services         []string
		Receivers        []string
		Providers        []string
	} `json:"androguard"`
	AaptTree struct {
		Error           string   `json:"error"`
		Activities      int      `json:"activities"`
		Services        int      `json:"services"`
		Receivers       int      `json:"receivers"`
		Providers       int      `json:"providers"`
		UsesPermissions []string `json:"uses_permissions"`
	} `json:"aapt_xmltree"`
	Aapt struct {
		Error       string `json:"error"`
		Package     string `json:"package"`
		VersionCode string `json:"version_code"`
		VersionName string `json:"version_name"`
	} `json:"aapt_badging"`
}

func oracleString(v any) string {
	s, _ := v.(string)
	return s
}

// TestMalformed checks each crafted manifest against what androguard and
// aapt (AOSP's own parser) make of it: the same fields where they succeed,
// an error where both refuse the file, aapt's answer where they disagree.
func TestMalformed(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "axml-malformed")
	raw, err := os.ReadFile(filepath.Join("testdata", "malformed_oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oracle map[string]oracleEntry
	if err := json.Unmarshal(raw, &oracle); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	if len(files) != 22 {
		t.Errorf("found %d malformed samples, want 22", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := oracle[name]
			if !ok {
				t.Fatalf("no oracle entry for %s", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, perr := Parse(data)
			ag := want.Androguard
			switch {
			case want.Aapt.Error != "" && !ag.Valid && ag.Error == "" && ag.Package == "":
				// Neither tool reads it as a manifest.
				if perr == nil {
					_, merr := DecodeManifest(d)
					if merr == nil {
						t.Fatalf("aapt says %q and androguard finds no manifest, we decoded one", want.Aapt.Error)
					}
					if d.Root.Name == "manifest" {
						t.Fatalf("decode error %v for a <manifest> root", merr)
					}
					if !errors.Is(merr, ErrNotManifest) {
						t.Fatalf("error %v, want ErrNotManifest", merr)
					}
					return
				}
				t.Logf("refused as the tools do: %v", perr)
				return
			case perr != nil:
				t.Fatalf("Parse: %v", perr)
			}
			m, err := DecodeManifest(d)
			if err != nil {
				t.Fatal(err)
			}
			// aapt is AOSP's parser; it wins where the two tools differ.
			if want.Aapt.Package != "" {
				vc := ""
				if m.VersionCode != 0 {
					vc = strconv.FormatInt(m.VersionCode, 10)
				}
				got := [3]string{m.Package, vc, m.VersionName}
				w := [3]string{want.Aapt.Package, want.Aapt.VersionCode, want.Aapt.VersionName}
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("package/versionCode/versionName differ from aapt (-want +got):\n%s", diff)
				}
			}
			if tree := want.AaptTree; tree.Error == "" {
				got := [4]int{len(m.Activities), len(m.Services), len(m.Receivers), len(m.Providers)}
				if w := [4]int{tree.Activities, tree.Services, tree.Receivers, tree.Providers}; got != w {
					t.Errorf("activities/services/receivers/providers = %v, aapt xmltree shows %v", got, w)
				}
				set := map[string]bool{}
				for _, p := range m.UsesPermissions {
					if !p.SDK23 {
						set[p.Name] = true
					}
				}
				for _, p := range tree.UsesPermissions {
					if !set[p] {
						t.Errorf("uses-permission %q (aapt) missing", p)
					}
				}
			}
			if ag.Error != "" {
				t.Logf("androguard failed (%s); checked against aapt only", ag.Error)
				return
			}
			if len(ag.Activities) != len(m.Activities) {
				// androguard 3.4 looks attributes up by name; packers such
				// as Liapp scramble the names, so it misses components that
				// aapt (checked above) and Android find by resource id.
				t.Logf("androguard finds %d activities, we and aapt %d: names not compared", len(ag.Activities), len(m.Activities))
				ag.Activities, ag.Services, ag.Receivers = []string{}, []string{}, []string{}
				m.Activities, m.Services, m.Receivers = nil, nil, nil
			}
			type fields struct {
				Package, MinSDK, TargetSDK string
				Permissions, Activities    []string
				Services, Receivers        []string
				Providers                  []string
			}
			w := fields{
				Package: ag.Package, MinSDK: oracleString(ag.MinSDK), TargetSDK: oracleString(ag.TargetSDK),
				Permissions: ag.Permissions, Activities: ag.Activities, Services: ag.Services,
				Receivers: ag.Receivers, Providers: ag.Providers,
			}
			acts := []string{}
			for _, a := range m.Activities {
				acts = append(acts, a.Name)
			}
			sort.Strings(acts)
			g := fields{
				Package: m.Package, MinSDK: itoa0(m.MinSDK), TargetSDK: itoa0(m.TargetSDK),
				Permissions: permSet(m), Activities: acts, Services: names(m.Services),
				Receivers: names(m.Receivers), Providers: names(m.Providers),
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("differs from androguard (-want +got):\n%s", diff)
			}
			if ac := oracleString(ag.ApplicationClass); ac != "" && m.Application.Name != m.className(ac) {
				t.Errorf("application class %q, androguard %q", m.Application.Name, ac)
			}
		})
	}
}
