package auditcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

func env() (*cli.Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	now := func() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) }
	return &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Log: slog.New(slog.DiscardHandler), Now: now}, &out, &errb
}

func writeApp(t *testing.T, dir, name string, m *apkbuild.Manifest, spec dextest.Spec) string {
	t.Helper()
	d, err := dextest.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	files := []apkbuild.File{{Name: "classes.dex", Data: d}}
	if m != nil {
		files = append(files, apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()})
	}
	b, err := apkbuild.Zip(files...)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// apps writes a folder with an app of concern, a clean app and garbage.
func apps(t *testing.T) (dir, concern, clean, garbage string) {
	dir = t.TempDir()
	concern = writeApp(t, dir, "drone.apk", &apkbuild.Manifest{Package: "com.example.drone", VersionCode: 3, VersionName: "3.0", MinSDK: 21, TargetSDK: 30,
		Permissions: []string{"android.permission.READ_PHONE_STATE"}},
		dextest.Spec{Classes: []string{"Lcom/example/Main;", "Lcom/sina/weibo/sdk/cmd/WbAppActivator;"},
			Strings: []string{"http://api.weibo.cn/2/client/common_config"},
			Methods: []dextest.MethodSpec{{Class: "Landroid/telephony/TelephonyManager;", Name: "getDeviceId", Proto: "()Ljava/lang/String;"}}})
	clean = writeApp(t, dir, "clean.apk", &apkbuild.Manifest{Package: "org.example.clean", VersionCode: 1, VersionName: "1"},
		dextest.Spec{Classes: []string{"Lorg/example/Main;"}, Strings: []string{"https://www.example.org/"}})
	garbage = filepath.Join(dir, "broken.apk")
	if err := os.WriteFile(garbage, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	return
}

func TestExitStatus(t *testing.T) {
	_, concern, clean, garbage := apps(t)
	for _, tc := range []struct {
		name string
		args []string
		want int
		out  string // in stdout
	}{
		{"no arguments", nil, cli.ExitFailure, ""},
		{"clean app", []string{clean}, cli.ExitOK, "nothing of concern"},
		{"app of concern", []string{concern}, cli.ExitConcern, "weibo-cmd-installer"},
		{"unreadable app", []string{garbage, concern}, cli.ExitInput, "com.example.drone"},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.apk")}, cli.ExitInput, ""},
		{"ban the SDK's owner", []string{"--ban", "sina", concern}, cli.ExitConcern, "BLOCK by rule"},
		{"ban someone else", []string{"--ban", "bytedance", concern}, cli.ExitOK, "ALLOW"},
		{"policy and ban", []string{"--ban", "sina", "--policy", "x.yaml", concern}, cli.ExitFailure, ""},
		{"bad size", []string{"--max-entry-size", "lots", concern}, cli.ExitFailure, ""},
		{"limits accepted", []string{"--max-entry-size", "64MiB", "--max-total-size", "1GiB", "--max-depth", "1", "--timeout", "30s", clean}, cli.ExitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := env()
			if got := Run(context.Background(), e, tc.args); got != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tc.want, out, errb)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out)
			}
		})
	}
}

// TestJSONSchema checks the documented fields of `outflow audit --json`.
func TestJSONSchema(t *testing.T) {
	dir, _, _, _ := apps(t)
	e, out, errb := env()
	if got := Run(context.Background(), e, []string{"--json", dir}); got != cli.ExitInput {
		t.Fatalf("exit %d, want %d (one app is broken): %s", got, cli.ExitInput, errb)
	}
	var doc struct {
		Tool    string `json:"tool"`
		Summary struct{ Apps, Concern, Incomplete, Errors int }
		Apps    []struct {
			File        string   `json:"file"`
			Package     string   `json:"package"`
			VersionName string   `json:"version_name"`
			Permissions []string `json:"permissions"`
			SDKs        []struct {
				ID         string   `json:"id"`
				OwnerChain []string `json:"owner_chain"`
				ClassCount int      `json:"class_count"`
			} `json:"sdks"`
			Findings []struct {
				ID       string            `json:"id"`
				Severity string            `json:"severity"`
				Evidence []json.RawMessage `json:"evidence"`
			} `json:"findings"`
			Endpoints      []map[string]any `json:"endpoints"`
			DataCategories []struct {
				ID   string   `json:"id"`
				From []string `json:"from"`
			} `json:"data_categories"`
			Concern bool   `json:"concern"`
			Error   string `json:"error"`
		} `json:"apps"`
	}
	dec := json.NewDecoder(out)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	// The broken app is not cleared: of concern (not fully read) and an error.
	if doc.Summary.Apps != 3 || doc.Summary.Concern != 2 || doc.Summary.Incomplete != 1 || doc.Summary.Errors != 1 || !strings.HasPrefix(doc.Tool, "outflow") {
		t.Fatalf("summary %+v tool %q", doc.Summary, doc.Tool)
	}
	var found bool
	for _, a := range doc.Apps {
		if a.Package != "com.example.drone" {
			continue
		}
		found = true
		if a.VersionName != "3.0" || len(a.Permissions) != 1 || !a.Concern {
			t.Errorf("app %+v", a)
		}
		if len(a.SDKs) != 1 || a.SDKs[0].ID != "com.sina.weibo.sdk.cmd" || a.SDKs[0].ClassCount != 1 || len(a.SDKs[0].OwnerChain) != 2 {
			t.Errorf("sdks %+v", a.SDKs)
		}
		ids := map[string]string{}
		for _, f := range a.Findings {
			ids[f.ID] = f.Severity
			if len(f.Evidence) == 0 && f.ID != "unsigned" {
				t.Errorf("finding %s without evidence", f.ID)
			}
		}
		if ids["weibo-cmd-installer"] != "high" || ids["sdk-of-concern"] == "" || ids["endpoint-of-concern"] == "" {
			t.Errorf("findings %v", ids)
		}
		if len(a.Endpoints) != 1 || a.Endpoints[0]["host"] != "api.weibo.cn" || a.Endpoints[0]["entity"] != "sina-weibo" {
			t.Errorf("endpoints %v", a.Endpoints)
		}
		if len(a.DataCategories) != 1 || a.DataCategories[0].ID != "phone-identifiers" || strings.Join(a.DataCategories[0].From, ",") != "permission,api" {
			t.Errorf("data categories %+v", a.DataCategories)
		}
	}
	if !found {
		t.Fatal("the app of concern is not in the JSON")
	}
}

func TestSARIFAndHTMLFiles(t *testing.T) {
	_, concern, clean, garbage := apps(t)
	out := t.TempDir()
	sarifPath, htmlPath := filepath.Join(out, "audit.sarif"), filepath.Join(out, "audit.html")
	e, stdout, errb := env()
	if got := Run(context.Background(), e, []string{"--sarif", sarifPath, "--html", htmlPath, concern, clean, garbage}); got != cli.ExitInput {
		t.Fatalf("exit %d: %s", got, errb)
	}
	if !strings.Contains(stdout.String(), "3 apps: 2 of concern (1 of them not fully read), 1 could not be read") {
		t.Errorf("text summary missing:\n%s", stdout)
	}
	b, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
				Notifications       []struct {
					Level string `json:"level"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
			Artifacts []struct {
				Location struct {
					URI string `json:"uri"`
				} `json:"location"`
			} `json:"artifacts"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI   string `json:"uri"`
							Index int    `json:"index"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "outflow" {
		t.Fatalf("header: %+v", log)
	}
	run := log.Runs[0]
	if len(run.Artifacts) != 3 || run.Invocations[0].ExecutionSuccessful || len(run.Invocations[0].Notifications) != 1 {
		t.Errorf("artifacts %d, invocation %+v", len(run.Artifacts), run.Invocations)
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has rule index %d", r.RuleID, r.RuleIndex)
		}
		loc := r.Locations[0].PhysicalLocation.ArtifactLocation
		if run.Artifacts[loc.Index].Location.URI != loc.URI {
			t.Errorf("result %s points at artifact %d (%s), not %s", r.RuleID, loc.Index, run.Artifacts[loc.Index].Location.URI, loc.URI)
		}
		levels[r.RuleID] = r.Level
	}
	if levels["weibo-cmd-installer"] != "error" || levels["sdk-of-concern"] == "" {
		t.Errorf("levels %v", levels)
	}

	h, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	page := string(h)
	for _, want := range []string{"<!DOCTYPE html>", "com.example.drone", "Weibo SDK command channel", "unreadable", "org.example.clean"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "src=\"http", "url(http", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML is not self-contained: it has %q", bad)
		}
	}
}

// TestStore: --store records each audited app for the dashboard.
func TestStore(t *testing.T) {
	dir, _, _, _ := apps(t)
	db := filepath.Join(t.TempDir(), "outflow.db")
	e, _, errb := env()
	if code := Run(context.Background(), e, []string{"--store", db, "--device", "ben-phone", dir}); code != cli.ExitInput {
		t.Fatalf("exit %d (the folder has a broken app): %s", code, errb.String())
	}
	st, err := backend.OpenReadOnly(context.Background(), store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audits, err := st.Audits(context.Background(), store.Filter{Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range audits {
		got[a.App] = a.Device
	}
	if len(audits) != 2 || got["com.example.drone"] != "ben-phone" || got["org.example.clean"] != "ben-phone" {
		t.Fatalf("audits in the store: %+v", audits)
	}
}
