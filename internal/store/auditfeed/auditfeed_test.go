package auditfeed

import (
	"context"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

func TestBatch(t *testing.T) {
	r := &audit.Report{File: "tiktok.apk", Package: "com.zhiliaoapp.musically", VersionName: "37.2", Label: "TikTok", SHA256: "ab12",
		Owner:   &attribute.Summary{Entity: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "SG", Lists: []attribute.ListRef{{ID: "us-fcc"}}},
		SDKs:    []audit.SDK{{ID: "com.bytedance.applog", Summary: attribute.Summary{Entity: "bytedance", Name: "ByteDance", Jurisdiction: "CN"}}},
		Verdict: &audit.AppVerdict{Action: "block", Rule: "no-bytedance"},
		Findings: []finding.Finding{
			{ID: "sdk-entity", Severity: finding.High, Category: finding.CatEntity, Title: "SDK of ByteDance", Subject: "com.bytedance.applog",
				Evidence: []finding.Evidence{{Kind: finding.EvClass, Value: "com.bytedance.applog.AppLog", Where: "classes.dex"}}},
			{ID: "app-owner", Severity: finding.High, Category: finding.CatEntity, Title: "App of TikTok"},
			{ID: "perm-contacts", Severity: finding.Medium, Category: finding.CatData, Title: "Reads contacts"},
		}}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	b := Batch(r, at, "10.0.0.5")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: t.TempDir() + "/a.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := db.Audit(ctx, b.Audits[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.App != "com.zhiliaoapp.musically" || got.Entity != "tiktok" || got.Verdict != "block" || got.Device != "10.0.0.5" || len(got.Findings) != 3 {
		t.Fatalf("audit %+v", got)
	}
	if got.Findings[0].Entity != "bytedance" || got.Findings[1].Entity != "tiktok" || got.Findings[2].Entity != "" ||
		got.Findings[0].Evidence[0] != "class com.bytedance.applog.AppLog (classes.dex)" || got.Findings[0].Severity != "high" {
		t.Errorf("findings %+v", got.Findings)
	}
	// the audit is found through its SDK's entity too
	as, err := db.Audits(ctx, store.Filter{Entities: []string{"bytedance"}, Until: at.Add(time.Hour)})
	if err != nil || len(as) != 1 {
		t.Errorf("audits of bytedance: %+v %v", as, err)
	}
}
