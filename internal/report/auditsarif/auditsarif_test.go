package auditsarif

import (
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
)

func TestBuild(t *testing.T) {
	rules := []finding.Rule{
		{ID: "weibo-cmd-installer", Category: finding.CatCapability, Severity: finding.High, Title: "t", Help: "h"},
		{ID: "shell-exec", Category: finding.CatCapability, Severity: finding.Low, Title: "t", Help: "h"},
	}
	r := &audit.Report{File: "apps/my app.apk", Package: "a.b", SHA256: "ab", Size: 3, Findings: []finding.Finding{
		{ID: "shell-exec", Severity: finding.Medium, Title: "shell", Evidence: []finding.Evidence{{Kind: "api-call", Value: "java.lang.Runtime.exec"}}},
		{ID: "not-a-rule", Severity: finding.High},
	}}
	bad := &audit.Report{File: "/abs/bad.apk", Error: "boom"}
	log := Build(&audit.Document{Apps: []*audit.Report{r, bad}}, rules, Options{ToolVersion: "v1"})
	run := log.Runs[0]
	if log.Version != "2.1.0" || len(run.Tool.Driver.Rules) != 2 || run.Tool.Driver.Rules[0].Name != "WeiboCmdInstaller" ||
		run.Tool.Driver.Rules[0].DefaultConfiguration.Level != "error" {
		t.Fatalf("driver %+v", run.Tool.Driver)
	}
	if len(run.Results) != 1 {
		t.Fatalf("%d results: a finding of an unknown rule must be dropped", len(run.Results))
	}
	res := run.Results[0]
	if al := res.Locations[0].PhysicalLocation.ArtifactLocation; res.RuleIndex != 1 || res.Level != "warning" || al.URI != "apps/my%20app.apk" || al.URIBaseID != BaseID {
		t.Errorf("result %+v", res)
	}
	if run.Artifacts[1].Location.URI != "file:///abs/bad.apk" || run.Invocations[0].ExecutionSuccessful || len(run.Invocations[0].Notifications) != 1 {
		t.Errorf("artifacts %+v invocations %+v", run.Artifacts, run.Invocations)
	}
	// An absolute path under the base directory is written relative to it:
	// the log names no directory of the machine that made it.
	under := &audit.Report{File: "/home/ana/work/apps/x.apk", Package: "x"}
	art := Build(&audit.Document{Apps: []*audit.Report{under}}, rules, Options{BaseDir: "/home/ana/work"}).Runs[0].Artifacts[0]
	if art.Location.URI != "apps/x.apk" || art.Location.URIBaseID != BaseID {
		t.Errorf("artifact under the base: %+v", art.Location)
	}
	again := Build(&audit.Document{Apps: []*audit.Report{r}}, rules, Options{}).Runs[0].Results[0]
	if again.PartialFingerprints["outflowFinding/v1"] != res.PartialFingerprints["outflowFinding/v1"] {
		t.Error("fingerprint not stable")
	}
}

func TestLevel(t *testing.T) {
	for s, want := range map[finding.Severity]string{finding.High: "error", finding.Medium: "warning", finding.Low: "note", finding.Info: "note"} {
		if got := Level(s); got != want {
			t.Errorf("%s: %s, want %s", s, got, want)
		}
	}
}

// An app not fully read makes the run unsuccessful, with a warning naming
// the first part not read and how many more.
func TestIncompleteApp(t *testing.T) {
	r := &audit.Report{File: "p.apk", Package: "a.b", Incomplete: []audit.Gap{
		{Part: "manifest", Where: "AndroidManifest.xml", Reason: "apk: p.apk: AndroidManifest.xml: entry too large (20000000, limit 16777216)", Limit: true},
		{Part: "dex", Where: "classes2.dex", Reason: "dex: classes2.dex: offset 0x70: bad header"},
	}}
	ok := &audit.Report{File: "q.apk", Package: "c.d"}
	inv := Build(&audit.Document{Apps: []*audit.Report{ok}}, nil, Options{}).Runs[0].Invocations[0]
	if !inv.ExecutionSuccessful || len(inv.Notifications) != 0 {
		t.Fatalf("complete app: %+v", inv)
	}
	inv = Build(&audit.Document{Apps: []*audit.Report{ok, r}}, nil, Options{}).Runs[0].Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 1 {
		t.Fatalf("incomplete app: %+v", inv)
	}
	n := inv.Notifications[0]
	want := "not fully read: manifest AndroidManifest.xml: apk: p.apk: AndroidManifest.xml: entry too large (20000000, limit 16777216) (and 1 more)"
	if n.Level != "warning" || n.Message.Text != want || *n.Locations[0].PhysicalLocation.ArtifactLocation.Index != 1 {
		t.Errorf("notification %+v, want %q on artifact 1", n, want)
	}
}
