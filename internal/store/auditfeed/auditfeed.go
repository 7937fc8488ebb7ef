// Package auditfeed turns an app audit's report into the store's rows, for
// `outflow audit --store`: the audit with its findings, and the facts of
// the entities it names.
//
// It joins the app audit to the store; it must never import a command or
// a renderer.
package auditfeed

import (
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/entityrec"
)

// Batch is the store batch of one audited app: at is when it was audited,
// device where it was found ("" if not known).
func Batch(r *audit.Report, at time.Time, device string) *store.Batch {
	b := &store.Batch{}
	ents := map[string]bool{}
	addEnt := func(s *attribute.Summary) string {
		if s == nil || s.Entity == "" {
			return ""
		}
		if !ents[s.Entity] {
			ents[s.Entity] = true
			b.Entities = append(b.Entities, entityrec.FromSummary(*s))
		}
		return s.Entity
	}
	a := store.Audit{Time: at, Device: device, App: r.Package, Version: r.VersionName, Label: r.Label, SHA256: r.SHA256, Source: r.File}
	if a.App == "" {
		a.App = r.File
	}
	a.Entity = addEnt(r.Owner)
	if len(r.Signers) > 0 {
		a.Signer = r.Signers[0].Subject
		if a.Entity == "" {
			a.Entity = addEnt(r.Signers[0].Attribution)
		}
	}
	sdk := map[string]string{}
	for i := range r.SDKs {
		sdk[r.SDKs[i].ID] = addEnt(&r.SDKs[i].Summary)
	}
	if r.Verdict != nil {
		a.Verdict = r.Verdict.Action
	}
	for _, f := range r.Findings {
		sf := store.Finding{Rule: f.ID, Severity: f.Severity.String(), Category: string(f.Category), Title: f.Title, Entity: sdk[f.Subject]}
		if sf.Entity == "" && f.Category == "entity" {
			sf.Entity = a.Entity
		}
		for _, ev := range f.Evidence {
			sf.Evidence = append(sf.Evidence, ev.String())
		}
		a.Findings = append(a.Findings, sf)
	}
	b.Audits = []store.Audit{a}
	return b
}
