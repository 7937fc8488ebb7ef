package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type listed struct {
	ImportPath string
	Imports    []string
}

// goList runs go list over the module from its root.
func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func moduleImports(t *testing.T) map[string][]string {
	dec := json.NewDecoder(bytes.NewReader(goList(t, "-json=ImportPath,Imports", "./...")))
	imports := map[string][]string{}
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from, ok := strings.CutPrefix(p.ImportPath, Module)
		if !ok {
			continue
		}
		var tos []string
		for _, i := range p.Imports {
			if rel, ok := strings.CutPrefix(i, Module); ok {
				tos = append(tos, rel)
			}
		}
		imports[from] = tos
	}
	return imports
}

// The module's packages keep the import rules of docs/architecture.md.
func TestImportRules(t *testing.T) {
	imports := moduleImports(t)
	if len(imports) < 50 {
		t.Fatalf("go list found %d packages: not the module", len(imports))
	}
	for _, b := range Check(imports) {
		t.Error(b)
	}
}

// The outflow binary carries no test helper and no test-only dependency.
func TestBinaryDependencies(t *testing.T) {
	deps := strings.Fields(string(goList(t, "-deps", "./cmd/outflow")))
	if len(deps) < 100 {
		t.Fatalf("%d dependencies: go list did not list the binary", len(deps))
	}
	for _, b := range CheckBinary(deps) {
		t.Error(b)
	}
}

// No two packages of the module share a name.
func TestPackageNamesUnique(t *testing.T) {
	names := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(goList(t, "-f", "{{.ImportPath}} {{.Name}}", "./..."))), "\n") {
		path, name, _ := strings.Cut(line, " ")
		names[path] = name
	}
	if len(names) < 50 {
		t.Fatalf("go list found %d packages: not the module", len(names))
	}
	for _, b := range CheckNames(names) {
		t.Error(b)
	}
}

// The rules catch what they are for: each broken import below is
// reported, and a clean set is not.
func TestRulesFailWhenBroken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		imports map[string][]string
		want    string
	}{
		{"core imports a source", map[string][]string{"internal/attribute": {"internal/capture/flow"}}, "never back"},
		{"source imports a sink", map[string][]string{"internal/capture/flow": {"internal/store/sqlite"}}, "never back"},
		{"pipeline imports a command", map[string][]string{"internal/scan": {"internal/cli"}}, "only commands import commands"},
		{"web imports a backend", map[string][]string{"internal/web": {"internal/store/sqlite"}}, "store.Reader"},
		{"backends import each other", map[string][]string{"internal/store/sqlite": {"internal/store/clickhouse"}}, "independent"},
		{"production imports a test helper", map[string][]string{"internal/scan": {"internal/policy/policytest"}}, "test helper"},
		{"the auditor imports the DEX writer", map[string][]string{"internal/appaudit/audit": {"internal/appaudit/dex/dextest"}}, "test helper"},
		{"a package in no layer", map[string][]string{"internal/newthing": nil}, "no layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := Check(tc.imports)
			if len(bad) == 0 || !strings.Contains(strings.Join(bad, "\n"), tc.want) {
				t.Errorf("Check = %q, want a line with %q", bad, tc.want)
			}
		})
	}
	clean := map[string][]string{"internal/scan": {"internal/attribute", "internal/capture/flow"}, "internal/web": {"internal/store", "internal/render"},
		"internal/cli/scancmd": {"internal/cli", "internal/scan"}, "internal/policy/policytest": {"internal/catalog"}}
	if bad := Check(clean); len(bad) != 0 {
		t.Errorf("clean imports reported: %q", bad)
	}
	if bad := CheckNames(map[string]string{"internal/report/storehtml": "htmlreport", "internal/report/audithtml": "htmlreport"}); len(bad) != 1 {
		t.Errorf("CheckNames = %q, want 1 line for two packages htmlreport", bad)
	}
	if bad := CheckNames(map[string]string{"cmd/outflow": "main", "bench/store": "main", "internal/report/storehtml": "storehtml"}); len(bad) != 0 {
		t.Errorf("CheckNames = %q, want none", bad)
	}
	if bad := CheckBinary([]string{"fmt", "testing", Module + "internal/resolver/resolvertest", "github.com/google/go-cmp/cmp"}); len(bad) != 3 {
		t.Errorf("CheckBinary = %q, want 3 lines", bad)
	}
}

// A test helper imported by a non-test file of a package the binary
// depends on is caught over the real `go list -deps ./cmd/outflow`: an
// overlay adds, in memory only, a file to the auditor that imports the
// DEX writer of the tests.
func TestBinaryRuleFailsOnTestHelper(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "leak.go")
	if err := os.WriteFile(src, []byte("package audit\n\nimport _ \""+Module+"internal/appaudit/dex/dextest\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, "internal/appaudit/audit/zz_leak.go"): src}})
	if err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := CheckBinary(strings.Fields(string(goList(t, "-overlay", ov, "-deps", "./cmd/outflow"))))
	if want := Module + "internal/appaudit/dex/dextest: a test helper in the binary"; !slices.Contains(bad, want) {
		t.Errorf("CheckBinary = %q, want %q", bad, want)
	}
}
