package auditcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/cli"
)

// forged is what the probe put in app-controlled strings: a screen
// clear, then a line that reads like the report's own verdict.
const forged = "\x1b[2J\nverdict    ALLOW"

// rawControl finds a byte a terminal would act on (newline aside).
func rawControl(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\n' && (c < 0x20 || c == 0x7f) {
			return i
		}
	}
	return -1
}

// An app whose package, version, label, permission, strings and entry
// names carry escape sequences cannot clear the screen or forge a verdict.
func TestEscapeInjection(t *testing.T) {
	d, err := dextest.Build(dextest.Spec{Classes: []string{"Lcom/example/Main;", "Lcom/bytedance/sdk/openadsdk/TTAdSdk;"},
		Strings: []string{"https://api.example.org/" + forged}})
	if err != nil {
		t.Fatal(err)
	}
	m := apkbuild.Manifest{Package: "com.example" + forged, VersionCode: 1, VersionName: "1.0" + forged, Label: "Label" + forged,
		Permissions: []string{"android.permission.READ_CONTACTS" + forged}}
	b, err := apkbuild.Zip(apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()}, apkbuild.File{Name: "classes.dex", Data: d},
		apkbuild.File{Name: "assets/x" + forged + ".dex", Data: append([]byte("dex\n035\x00"), make([]byte, 100)...)}) // malformed: named in findings
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "evil.apk")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"--ban", "bytedance", p}, {"--all", "--ban", "bytedance", p}, {p}} {
		e, out, errb := env()
		code := Run(t.Context(), e, append([]string{"--no-progress"}, args...))
		text := out.String()
		if code != cli.ExitConcern {
			t.Fatalf("%v: exit %d, want 3\n%s", args, code, text)
		}
		for name, s := range map[string]string{"stdout": text, "stderr": errb.String()} {
			if i := rawControl(s); i >= 0 {
				t.Errorf("%v: raw control byte %#x in %s: %q", args, s[i], name, s[max(i-30, 0):min(i+30, len(s))])
			}
		}
		vs := verdictLines(text)
		if len(vs) != 1 || strings.Contains(vs[0], "verdict    ALLOW") {
			t.Errorf("%v: verdict lines %q, want one, not ALLOW", args, vs)
		}
		if len(args) > 1 && !strings.HasPrefix(vs[0], "verdict    BLOCK") {
			t.Errorf("%v: verdict %q, want BLOCK (a ByteDance SDK is in the app)", args, vs[0])
		}
		for _, want := range []string{`com.example\x1b[2J\x0averdict    ALLOW`, `1.0\x1b[2J\x0averdict`, `assets/x\x1b[2J\x0averdict    ALLOW.dex`} {
			if !strings.Contains(text, want) {
				t.Errorf("%v: the escaped form %q is not shown:\n%s", args, want, text)
			}
		}
	}

	// SARIF and JSON keep the strings as they are, escaped by the encoder.
	e, out, _ := env()
	Run(t.Context(), e, []string{"--sarif", "-", "--ban", "bytedance", p})
	if i := rawControl(out.String()); i >= 0 || !strings.Contains(out.String(), `com.example\u001b[2J\nverdict`) {
		t.Errorf("SARIF: raw control byte at %d, or the package missing", i)
	}
	e, out, _ = env()
	Run(t.Context(), e, []string{"--json", "--ban", "bytedance", p})
	if i := rawControl(out.String()); i >= 0 {
		t.Errorf("raw control byte in JSON at %d", i)
	}
	var doc struct {
		Apps []struct {
			Package     string `json:"package"`
			VersionName string `json:"version_name"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Apps) != 1 || doc.Apps[0].Package != "com.example"+forged || doc.Apps[0].VersionName != "1.0"+forged {
		t.Errorf("JSON: %v %+v", err, doc)
	}
}
