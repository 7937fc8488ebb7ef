package audithtml

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/attribute"
)

// TestEscapesAppStrings: labels, package names and evidence come from the
// app, which an attacker writes; they must never become markup.
func TestEscapesAppStrings(t *testing.T) {
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	r := &audit.Report{File: "x.apk", Package: "a.b", Label: evil, VersionName: evil, Concern: true,
		Signers:    []audit.Signer{{Signer: extract.Signer{Subject: evil}}},
		Incomplete: []audit.Gap{{Part: "dex", Where: evil, Reason: evil}},
		Verdict:    &audit.AppVerdict{Action: audit.ActionIncomplete, Because: evil},
		Findings:   []finding.Finding{{ID: "shell-exec", Severity: finding.Low, Title: "shell", Evidence: []finding.Evidence{{Kind: "string", Value: evil}}}},
		Endpoints:  []audit.Endpoint{{Host: "h.example", URLs: []string{"javascript:alert(3)"}, Summary: &attribute.Summary{Entity: "e", OwnerChain: []string{"e"}}}},
	}
	doc := &audit.Document{Generated: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Apps: []*audit.Report{r}, Summary: audit.Summarize([]*audit.Report{r})}
	var b bytes.Buffer
	if err := Write(&b, doc, Options{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "<img", "href=\"javascript"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	if n := strings.Count(page, "&lt;script&gt;"); n < 6 {
		t.Errorf("%d escaped copies of the markup, want one per field (label, version, signer, gap, verdict, evidence)", n)
	}
	for _, want := range []string{"&lt;script&gt;", "of concern", "shell", "h.example", "not fully read", "INCOMPLETE"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
