package auditcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/cli"
)

// paddedTikTok writes TikTok's package with n <meta-data> elements in its
// manifest, as the probe built it. Identical elements make the
// manifest deflate far beyond the zip-bomb ratio (the probe's 25,000 are
// 2.5 MB inflated, 278:1); distinct names put the bulk in the string pool,
// ahead of the root element that holds the package name.
func paddedTikTok(t *testing.T, dir, name string, n int, distinct bool) string {
	t.Helper()
	m := &apkbuild.Manifest{Package: "com.zhiliaoapp.musically", VersionCode: 1, VersionName: "1.0", MinSDK: 21, TargetSDK: 33}
	for i := range n {
		md := apkbuild.MetaData{Name: "pad", Value: "x"}
		if distinct {
			md.Name = fmt.Sprintf("pad.%06d", i)
		}
		m.MetaData = append(m.MetaData, md)
	}
	return writeApp(t, dir, name, m, dextest.Spec{Classes: []string{"Lcom/example/Main;"}})
}

// auditJSON is what the tests read of `outflow audit --json`.
type auditJSON struct {
	Summary struct{ Apps, Concern, Incomplete, Errors int }
	Apps    []struct {
		Package    string
		Concern    bool
		Error      string
		Incomplete []struct {
			Part, Where, Reason string
			Limit               bool
		}
		Verdict *struct{ Action, Because string }
	}
}

// run runs `outflow audit` as the command line does and returns the exit
// status and standard output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	e, out, errb := env()
	code := Run(context.Background(), e, append([]string{"--no-progress"}, args...))
	if t.Failed() {
		t.Logf("stderr: %s", errb)
	}
	return code, out.String()
}

func runJSON(t *testing.T, args ...string) (int, auditJSON) {
	t.Helper()
	code, out := run(t, append([]string{"--json"}, args...)...)
	var doc auditJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Apps) != 1 {
		t.Fatalf("%d apps in %s", len(doc.Apps), out)
	}
	return code, doc
}

// verdictLines returns the verdict lines of a text report.
func verdictLines(out string) []string {
	var vs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "verdict") {
			vs = append(vs, l)
		}
	}
	return vs
}

// The probe: a manifest padded to 2.5 MB was skipped as a zip bomb
// and the app allowed. It is read now, and blocked.
func TestPaddedManifestIsRead(t *testing.T) {
	p := paddedTikTok(t, t.TempDir(), "padded.apk", 25000, false)
	code, out := run(t, "--ban", "bytedance", p)
	if vs := verdictLines(out); code != cli.ExitConcern || len(vs) != 1 || !strings.HasPrefix(vs[0], "verdict    BLOCK by rule") {
		t.Fatalf("exit %d, verdict %q, want exit 3 and BLOCK\n%s", code, vs, out)
	}
	if strings.Contains(out, "limit-reached") || strings.Contains(out, "zip bomb") {
		t.Errorf("the padded manifest is still refused:\n%s", out)
	}
	// Fully read: banning someone else allows it, with nothing missing.
	code, doc := runJSON(t, "--ban", "dji", p)
	a := doc.Apps[0]
	if code != cli.ExitOK || a.Package != "com.zhiliaoapp.musically" || a.Verdict == nil || a.Verdict.Action != "allow" || len(a.Incomplete) != 0 {
		t.Fatalf("--ban dji: exit %d, app %+v", code, a)
	}
}

// Over the manifest limit, the package is still read from the manifest's
// first bytes: a banned package blocks; anything else is "incomplete",
// never allow.
func TestManifestOverLimit(t *testing.T) {
	dir := t.TempDir()
	padded := paddedTikTok(t, dir, "padded.apk", 25000, false) // 2.5 MB
	pool := paddedTikTok(t, dir, "pool.apk", 40000, true)      // a 1 MB string pool before the root
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		action  string
		pkg     string
		because string
	}{
		{"banned package read from the prefix", []string{"--max-manifest-size", "1MiB", "--ban", "bytedance", padded}, cli.ExitConcern, "block", "com.zhiliaoapp.musically", "package com.zhiliaoapp.musically"},
		{"other ban: incomplete", []string{"--max-manifest-size", "1MiB", "--ban", "dji", padded}, cli.ExitConcern, "incomplete", "com.zhiliaoapp.musically", "not fully read: manifest AndroidManifest.xml"},
		{"root beyond the prefix: incomplete", []string{"--max-manifest-size", "512KiB", "--ban", "bytedance", pool}, cli.ExitConcern, "incomplete", "", "not fully read: manifest AndroidManifest.xml"},
		{"without a policy: of concern", []string{"--max-manifest-size", "512KiB", pool}, cli.ExitConcern, "", "", ""},
		{"max-entry-size caps the manifest too", []string{"--max-entry-size", "1MiB", "--ban", "dji", padded}, cli.ExitConcern, "incomplete", "com.zhiliaoapp.musically", "not fully read: manifest AndroidManifest.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, doc := runJSON(t, tc.args...)
			a := doc.Apps[0]
			if code != tc.code || !a.Concern || a.Package != tc.pkg {
				t.Fatalf("exit %d concern %v package %q, want exit %d, of concern, package %q", code, a.Concern, a.Package, tc.code, tc.pkg)
			}
			if tc.action == "" {
				if a.Verdict != nil {
					t.Errorf("verdict %+v without a policy", a.Verdict)
				}
			} else if a.Verdict == nil || a.Verdict.Action != tc.action || !strings.HasPrefix(a.Verdict.Because, tc.because) {
				t.Errorf("verdict %+v, want %s because %q...", a.Verdict, tc.action, tc.because)
			}
			if len(a.Incomplete) != 1 || a.Incomplete[0].Part != "manifest" || a.Incomplete[0].Where != "AndroidManifest.xml" || !a.Incomplete[0].Limit ||
				!strings.Contains(a.Incomplete[0].Reason, "entry too large") || doc.Summary.Incomplete != 1 {
				t.Errorf("incomplete %+v, summary %+v", a.Incomplete, doc.Summary)
			}
			// The text says the same, in one verdict line.
			code, out := run(t, tc.args...)
			vs := verdictLines(out)
			if code != tc.code || len(vs) != 1 || strings.Contains(vs[0], "ALLOW") || strings.Contains(vs[0], "nothing of concern") {
				t.Errorf("text: exit %d, verdict lines %q", code, vs)
			}
		})
	}
}

// A manifest past the default limit (16 MiB) is not read whole.
func TestManifestOverDefaultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 17 MB manifest")
	}
	p := paddedTikTok(t, t.TempDir(), "huge.apk", 170000, false) // 17 MB
	code, doc := runJSON(t, "--ban", "dji", p)
	a := doc.Apps[0]
	if code != cli.ExitConcern || a.Verdict == nil || a.Verdict.Action != "incomplete" || len(a.Incomplete) != 1 ||
		!strings.Contains(a.Incomplete[0].Reason, "limit 16777216") {
		t.Fatalf("exit %d, app %+v", code, a)
	}
}

// Any part that does not parse leaves the app incomplete: here a DEX file.
func TestBrokenDexIsIncomplete(t *testing.T) {
	d, err := dextest.Build(dextest.Spec{Classes: []string{"Lorg/example/Main;"}})
	if err != nil {
		t.Fatal(err)
	}
	m := apkbuild.Manifest{Package: "org.example.clean", VersionCode: 1, VersionName: "1"}
	b, err := apkbuild.Zip(apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()}, apkbuild.File{Name: "classes.dex", Data: d},
		apkbuild.File{Name: "classes2.dex", Data: append([]byte("dex\n035\x00"), make([]byte, 200)...)})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "broken-dex.apk")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, doc := runJSON(t, "--ban", "bytedance", p)
	a := doc.Apps[0]
	if code != cli.ExitConcern || a.Verdict == nil || a.Verdict.Action != "incomplete" || len(a.Incomplete) != 1 ||
		a.Incomplete[0].Part != "dex" || a.Incomplete[0].Where != "classes2.dex" || a.Incomplete[0].Limit {
		t.Fatalf("exit %d, app %+v", code, a)
	}
}

// An app that cannot be read at all is not cleared either: exit 2, and the
// verdict under a policy is incomplete.
func TestUnreadableAppVerdict(t *testing.T) {
	_, _, _, garbage := apps(t)
	code, doc := runJSON(t, "--ban", "bytedance", garbage)
	a := doc.Apps[0]
	if code != cli.ExitInput || a.Error == "" || !a.Concern || a.Verdict == nil || a.Verdict.Action != "incomplete" || len(a.Incomplete) != 1 || a.Incomplete[0].Part != "app" {
		t.Fatalf("exit %d, app %+v", code, a)
	}
	code, out := run(t, "--ban", "bytedance", filepath.Join(t.TempDir(), "missing.apk"))
	if vs := verdictLines(out); code != cli.ExitInput || len(vs) != 1 || !strings.Contains(vs[0], "INCOMPLETE") {
		t.Fatalf("missing file: exit %d, verdict %q\n%s", code, vs, out)
	}
}

// SARIF and HTML say what was not read.
func TestIncompleteInSARIFAndHTML(t *testing.T) {
	dir := t.TempDir()
	p := paddedTikTok(t, dir, "padded.apk", 25000, false)
	sarifPath, htmlPath := filepath.Join(dir, "a.sarif"), filepath.Join(dir, "a.html")
	if code, out := run(t, "--max-manifest-size", "1MiB", "--ban", "dji", "--sarif", sarifPath, "--html", htmlPath, p); code != cli.ExitConcern {
		t.Fatalf("exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
				Notifications       []struct {
					Level   string `json:"level"`
					Message struct{ Text string }
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct{ Text string }
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	run0 := log.Runs[0]
	inv := run0.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 1 || !strings.Contains(inv.Notifications[0].Message.Text, "AndroidManifest.xml") {
		t.Errorf("invocation %+v", inv)
	}
	var found bool
	for _, r := range run0.Results {
		if r.RuleID == "incomplete" && r.Level == "error" && strings.Contains(r.Message.Text, "entry too large") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error-level result of rule incomplete: %+v", run0.Results)
	}
	h, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not fully read", "INCOMPLETE", "entry too large"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
