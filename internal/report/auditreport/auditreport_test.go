package auditreport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
)

func sampleDoc() *audit.Document {
	weibo := attribute.Summary{Entity: "sina-weibo", Name: "Weibo Corporation", Jurisdiction: "CN", OwnerChain: []string{"sina-weibo", "sina"},
		Lists: []attribute.ListRef{{ID: "india-69a-2020"}}}
	var ev []finding.Evidence
	for i := range 5 {
		ev = append(ev, finding.Evidence{Kind: finding.EvClass, Value: "com.sina.weibo.sdk.cmd.C" + string(rune('A'+i))})
	}
	r := &audit.Report{File: "drone.apk", Kind: "apk", Package: "com.example.drone", VersionName: "4.3", VersionCode: 7, Label: "Drone",
		MinSDK: 21, TargetSDK: 28, DexFiles: []string{"classes.dex"}, ClassCount: 10, Concern: true,
		SDKs:           []audit.SDK{{ID: "com.sina.weibo.sdk.cmd", Product: "Weibo SDK cmd", ClassCount: 5, Summary: weibo}},
		Findings:       []finding.Finding{{ID: rules.IDWeiboCmd, Severity: finding.High, Title: "Weibo install channel", Evidence: ev}, {ID: rules.IDSDK, Severity: finding.Medium, Title: "hidden in text"}},
		DataCategories: []rules.DataCategory{{ID: "location", Name: "location", From: []string{"api"}, APIs: []finding.Evidence{{Value: "android.location.LocationManager.getLastKnownLocation"}}, Note: "no permission"}},
		Endpoints:      []audit.Endpoint{{Host: "api.weibo.cn", URLs: []string{"http://api.weibo.cn/2/client/common_config"}, FoundIn: []string{"dex"}, Summary: &weibo}, {Host: "www.example.org", FoundIn: []string{"dex"}}},
	}
	bad := &audit.Report{File: "broken.apk", Error: "not a readable ZIP archive"}
	reps := []*audit.Report{r, bad}
	return &audit.Document{Apps: reps, Summary: audit.Summarize(reps)}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		all     bool
		want    []string
		notWant []string
	}{
		{false, []string{
			"== drone.apk ==", `app        "Drone" com.example.drone 4.3 (7), SDK min 21 target 28`, "verdict    OF CONCERN",
			"com.sina.weibo.sdk.cmd", "sina-weibo < sina (CN)", "india-69a-2020",
			"HIGH    weibo-cmd-installer: Weibo install channel", "(2 more; --all or --json shows them)",
			"location", "api android.location.LocationManager.getLastKnownLocation (no permission)",
			"api.weibo.cn", "1 other host in the app",
			"== broken.apk ==", "ERROR      not a readable ZIP archive",
			"2 apps: 1 of concern, 1 could not be read",
		}, []string{"hidden in text", "www.example.org"}},
		{true, []string{"com.sina.weibo.sdk.cmd.CE", "Other hosts", "www.example.org"}, []string{"more; --all"}},
	} {
		var b bytes.Buffer
		if err := Write(&b, sampleDoc(), Options{All: tc.all}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("all=%v: output lacks %q:\n%s", tc.all, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("all=%v: output has %q:\n%s", tc.all, w, out)
			}
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, bytes.ErrTooLarge
	}
	f.n--
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	if err := Write(&failWriter{n: 3}, sampleDoc(), Options{}); err == nil {
		t.Fatal("write error not returned")
	}
}
