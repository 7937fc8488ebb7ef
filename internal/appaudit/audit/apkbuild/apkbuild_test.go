package apkbuild

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/appaudit/axml"
)

// TestManifestRoundTrip: what Binary writes, the manifest parser reads back.
func TestManifestRoundTrip(t *testing.T) {
	m := Manifest{
		Package: "org.example.app", VersionCode: 42, VersionName: "4.2", MinSDK: 21, TargetSDK: 34,
		Permissions: []string{"android.permission.INTERNET", "android.permission.READ_SMS"},
		Label:       "Exemple ÄÖ 例", Application: "org.example.App",
		Components: []Component{
			{Kind: "receiver", Name: "org.example.Boot", Actions: []string{"android.intent.action.BOOT_COMPLETED"}},
			{Kind: "activity", Name: "org.example.Install", MIMETypes: []string{"application/vnd.android.package-archive"}},
		},
	}
	got, err := axml.ParseManifest(m.Binary())
	if err != nil {
		t.Fatal(err)
	}
	var perms []string
	for _, p := range got.UsesPermissions {
		perms = append(perms, p.Name)
	}
	type view struct {
		Pkg, VName, Label, App string
		VCode                  int64
		Min, Target            int
		Perms                  []string
		Receiver, Action       string
		Activity, MIME         string
	}
	want := view{"org.example.app", "4.2", "Exemple ÄÖ 例", "org.example.App", 42, 21, 34, m.Permissions,
		"org.example.Boot", "android.intent.action.BOOT_COMPLETED", "org.example.Install", "application/vnd.android.package-archive"}
	have := view{Pkg: got.Package, VName: got.VersionName, Label: got.Application.Label, App: got.Application.Name,
		VCode: got.VersionCode, Min: got.MinSDK, Target: got.TargetSDK, Perms: perms}
	if len(got.Receivers) == 1 && len(got.Receivers[0].IntentFilters) == 1 && len(got.Receivers[0].IntentFilters[0].Actions) == 1 {
		have.Receiver, have.Action = got.Receivers[0].Name, got.Receivers[0].IntentFilters[0].Actions[0]
	}
	if len(got.Activities) == 1 && len(got.Activities[0].IntentFilters) == 1 && len(got.Activities[0].IntentFilters[0].MIMETypes) == 1 {
		have.Activity, have.MIME = got.Activities[0].Name, got.Activities[0].IntentFilters[0].MIMETypes[0]
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}
