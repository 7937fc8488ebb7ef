package apksig_test

import (
	"errors"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/apksig"
	"github.com/outflow-dev/outflow/internal/appaudit/arsc"
	"github.com/outflow-dev/outflow/internal/appaudit/axml"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// apk.Archive is the FileSource the audit passes in.
var _ apksig.FileSource = (*apk.Archive)(nil)

// TestEndToEnd wires the four packages the way the audit does: open the
// container, decode the manifest, resolve the label, name the signer.
func TestEndToEnd(t *testing.T) {
	path := sharedtest.Path(t, "apk", "samples", "tencent_bugly_hotfix_app-release.apk")
	a, err := apk.Open(path, apk.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mb, err := a.ReadFile("AndroidManifest.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := axml.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := a.ReadFile("resources.arsc")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := arsc.Parse(rb)
	if err != nil {
		t.Fatal(err)
	}
	m.Resolve(tab)
	v1, err := apksig.V1(a)
	if err != nil {
		t.Fatal(err)
	}
	ra, size := a.ReaderAt()
	sb, err := apksig.FindSigningBlock(ra, size)
	if err != nil && !errors.Is(err, apksig.ErrNoSigningBlock) {
		t.Fatal(err)
	}
	if m.Package != "com.tencent.bugly.hotfix" || m.Application.Label != "BuglyHotfixDemo" || m.Application.Name != "com.tencent.bugly.hotfix.SampleApplication" {
		t.Errorf("manifest: %q %q %q", m.Package, m.Application.Label, m.Application.Name)
	}
	if m.Application.Debuggable == nil || !*m.Application.Debuggable {
		t.Error("aapt reports application-debuggable")
	}
	if len(v1) != 1 || len(v1[0].Signers) != 1 || v1[0].Signers[0].Subject != "CN=simsun" {
		t.Fatalf("v1 = %+v", v1)
	}
	if sb == nil || len(sb.V2) != 1 || sb.V2[0].Certificates[0].SHA256 != v1[0].Signers[0].SHA256 {
		t.Errorf("v2 signer differs from v1 signer")
	}
}
