package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/render"
)

// candidate is one attribution the app's verdict is decided over.
type candidate struct {
	a       attribute.Attribution
	because string
}

// entities attributes the app's package, signers, SDKs and hosts, adds their
// findings and decides the verdict.
func (a *Auditor) entities(r *Report, app *extract.App) {
	if a.at == nil {
		return
	}
	var cands []candidate
	concern := false
	add := func(fd finding.Finding) { r.Findings = append(r.Findings, fd) }

	if r.Package != "" {
		if at := a.at.App(r.Package); at.Concern() {
			s := attribute.Summarize(at)
			r.Owner = &s
			concern = true
			cands = append(cands, candidate{at, "package " + r.Package + " (" + at.Entity.ID + ")"})
			fd := rules.New(rules.IDAppOwner,
				finding.Evidence{Kind: finding.EvPackage, Value: r.Package},
				catalogEvidence(at))
			fd.Subject, fd.Concern = at.Entity.ID, true
			add(fd)
		}
	}

	for _, s := range app.Signers {
		sg := Signer{Signer: s}
		if s.Organization != "" {
			if at := a.at.CertOrg(s.Organization); at.Concern() {
				sum := attribute.Summarize(at)
				sg.Attribution = &sum
				concern = true
				cands = append(cands, candidate{at, "signer O=" + s.Organization + " (" + at.Entity.ID + ")"})
				fd := rules.New(rules.IDSigner,
					finding.Evidence{Kind: finding.EvCert, Value: s.Subject, Note: "SHA-256 " + s.SHA256},
					catalogEvidence(at))
				fd.Subject, fd.Concern = at.Entity.ID, true
				add(fd)
			}
		}
		r.Signers = append(r.Signers, sg)
	}

	// SDKs: a prefix is listed when some class has it as its most specific
	// catalogued prefix; its count includes the more specific prefixes.
	own, emb := app.Code.SDKClasses, app.Code.SDKEmbedded
	if len(own) == len(a.sdks.assets) {
		inc, incEmb := a.sdks.inclusive(own), a.sdks.inclusive(emb)
		for i, asset := range a.sdks.assets {
			if own[i] == 0 && emb[i] == 0 {
				continue
			}
			at := a.at.Class(asset.Value)
			if !at.Found() {
				continue
			}
			sdk := SDK{ID: asset.Value, Product: asset.Name, ClassCount: inc[i], EmbeddedClassCount: incEmb[i], Summary: attribute.Summarize(at)}
			if a.pol != nil {
				sdk.Verdict = a.pol.Decide(a.cfg.Client, at, "", a.now()).Action.String()
			}
			r.SDKs = append(r.SDKs, sdk)
			if !at.Concern() {
				continue
			}
			concern = true
			cands = append(cands, candidate{at, "sdk " + asset.Value + " (" + at.Entity.ID + ")"})
			where := fmt.Sprintf("%d classes under %s", inc[i], asset.Value)
			if incEmb[i] > 0 {
				where += fmt.Sprintf(" (%d in nested code)", incEmb[i])
			}
			fd := rules.New(rules.IDSDK,
				finding.Evidence{Kind: finding.EvClass, Value: where},
				catalogEvidence(at))
			fd.Subject, fd.Concern = asset.Value, true
			fd.Title = "SDK of concern: " + asset.Name + " (" + chain(at) + ")"
			if len(at.Lists()) > 0 {
				fd.Severity = finding.High
			}
			add(fd)
		}
		slices.SortFunc(r.SDKs, func(x, y SDK) int { return strings.Compare(x.ID, y.ID) })
	}

	// Endpoints: every host, attributed when catalogued; bare names (not in
	// a URL) only when catalogued, as most are file or property names.
	byEntity := map[string][]finding.Evidence{}
	var entityOrder []string
	entityAt := map[string]attribute.Attribution{}
	for _, h := range app.Code.Hosts {
		if notEndpoints[h.Name] {
			continue
		}
		var at attribute.Attribution
		if ip, ok := isAddr(h.Name); ok {
			at = a.at.Addr(ip)
		} else {
			at = a.at.Name(attribute.Hostname, h.Name)
		}
		if h.Bare && !at.Found() {
			continue
		}
		ep := Endpoint{Host: h.Name, URLs: h.URLs, Where: h.Where}
		if h.InDex {
			ep.FoundIn = append(ep.FoundIn, "dex")
		}
		if h.InResources {
			ep.FoundIn = append(ep.FoundIn, "resources")
		}
		if at.Found() {
			s := attribute.Summarize(at)
			ep.Summary = &s
			if a.pol != nil {
				ep.Verdict = a.pol.Decide(a.cfg.Client, at, h.Name, a.now()).Action.String()
			}
		}
		r.Endpoints = append(r.Endpoints, ep)
		if !at.Concern() {
			continue
		}
		concern = true
		id := at.Entity.ID
		if _, ok := byEntity[id]; !ok {
			entityOrder = append(entityOrder, id)
			entityAt[id] = at
		}
		v := h.Name
		if len(h.URLs) > 0 {
			v = h.URLs[0]
		}
		ev := finding.Evidence{Kind: finding.EvHost, Value: v, Where: h.Where}
		if at.Asset != nil {
			ev.Note = at.Asset.Rule()
		}
		byEntity[id] = append(byEntity[id], ev)
	}
	r.EndpointsTruncated = app.Code.HostsTruncated
	for _, id := range entityOrder {
		at := entityAt[id]
		fd := rules.New(rules.IDEndpoint, finding.Trim(byEntity[id])...)
		fd.Subject, fd.Concern = id, true
		fd.Title = fmt.Sprintf("Hosts of %s (%s) in the app", at.Entity.Name, chain(at))
		add(fd)
	}

	r.Concern = concern || hasConcernFinding(r.Findings)
	if a.pol != nil {
		a.verdict(r, cands)
	}
}

func hasConcernFinding(fs []finding.Finding) bool {
	for _, f := range fs {
		if f.Concern {
			return true
		}
	}
	return false
}

// verdict decides the app's verdict: the strictest over its owner, signers
// and SDKs ("apps by banned entities", "apps embedding SDKs of banned
// entities"). Hosts named in the code are reported with their own verdicts
// but do not decide the app's: a URL in a string is not an SDK.
func (a *Auditor) verdict(r *Report, cands []candidate) {
	now := a.now()
	best := policy.Decision{Action: policy.Allow}
	because := ""
	for _, c := range cands {
		v := a.pol.Decide(a.cfg.Client, c.a, "", now)
		if v.Action > best.Action {
			best, because = v, c.because
		}
	}
	if len(r.Incomplete) > 0 && best.Action < policy.Block {
		// Fail closed: the part not read may hold what blocks the app.
		r.Verdict, r.Concern = incompleteVerdict(r.Incomplete), true
		return
	}
	out := &AppVerdict{Action: best.Action.String(), Because: because}
	if best.Rule != nil {
		out.Rule, out.Basis = best.Rule.ID, best.Rule.Basis
	}
	if !best.Deadline.IsZero() {
		out.Deadline = best.Deadline.UTC().Format("2006-01-02T15:04:05Z")
	}
	r.Verdict = out
	r.Concern = best.Action != policy.Allow
	if best.Action == policy.Allow {
		return
	}
	fd := rules.New(rules.IDPolicy, finding.Evidence{Kind: finding.EvPolicy,
		Value: fmt.Sprintf("%s by rule %s", out.Action, out.Rule), Note: because})
	switch best.Action {
	case policy.Monitor:
		fd.Severity = finding.Low
	case policy.Due:
		fd.Severity = finding.Medium
	}
	fd.Title = fmt.Sprintf("Policy: %s (%s)", out.Action, because)
	fd.Subject, fd.Concern = out.Rule, true
	r.Findings = append(r.Findings, fd)
}

func chain(at attribute.Attribution) string {
	var ids []string
	for _, e := range at.Chain() {
		ids = append(ids, e.ID)
	}
	return strings.Join(ids, " < ")
}

func catalogEvidence(at attribute.Attribution) finding.Evidence {
	ev := finding.Evidence{Kind: finding.EvCatalog, Value: at.Entity.ID}
	if at.Asset != nil {
		ev.Value, ev.Where = at.Asset.Rule(), at.Asset.Pos.String()
	}
	note := "entity " + chain(at)
	if lists := render.ListIDs(attribute.Lists(at.Entity), ", "); lists != "" {
		note += "; lists " + lists
	}
	ev.Note = note
	return ev
}
