// Package auditreport writes audit reports as JSON (documented in
// docs/output.md) and for a terminal: per app, the identity, the SDKs of
// concern with their owner chains, the findings with their first pieces of
// evidence, the personal data the app can reach and the endpoints of
// concern.
//
// Everything printed that is not the report's own wording passes through
// safetext.Terminal, in printf itself rather than at each call: package
// names, labels, versions, certificate subjects, entry names, hosts, URLs
// and error messages come from the app, which an attacker writes, and a
// raw escape sequence or newline in one could clear the screen or forge a
// "verdict ALLOW" line.
//
// It reads the audit model only and must never import the parsers, the
// catalog or the CLI.
package auditreport

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/safetext"
)

// Options tune the text.
type Options struct {
	// All lists every host and every piece of evidence kept, not only the
	// hosts of concern and the first pieces.
	All bool
}

// evidenceLines is how many pieces of evidence a finding shows by default.
const evidenceLines = 3

// JSON writes doc indented, the form docs/output.md documents.
func JSON(w io.Writer, doc *audit.Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// Write writes every report of doc, then a summary line when there are
// several apps.
func Write(w io.Writer, doc *audit.Document, o Options) error {
	ew := &errWriter{render.ErrWriter{W: w}}
	for i, r := range doc.Apps {
		if i > 0 {
			ew.printf("\n")
		}
		writeApp(ew, r, o)
	}
	if len(doc.Apps) != 1 {
		s := doc.Summary
		inc := ""
		if s.Incomplete > 0 {
			inc = fmt.Sprintf(" (%d of them not fully read)", s.Incomplete)
		}
		ew.printf("\n%d apps: %d of concern%s, %d could not be read\n", s.Apps, s.Concern, inc, s.Errors)
	}
	return ew.Err
}

// errWriter is a render.ErrWriter that also prints safely.
type errWriter struct{ render.ErrWriter }

// printf formats like fmt.Printf with every argument made safe for a
// terminal; only format, which is ours, may hold newlines and tabs.
func (e *errWriter) printf(format string, a ...any) {
	if e.Err == nil {
		_, e.Err = fmt.Fprintf(e.W, format, safe(a)...)
	}
}

// fprintf is printf for a tabwriter's cells.
func fprintf(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, format, safe(a)...)
}

// safe escapes the control characters and bidi overrides of every string,
// Stringer and error argument; numbers are left to fmt.
func safe(a []any) []any {
	for i, v := range a {
		switch x := v.(type) {
		case string:
			a[i] = safetext.Terminal(x)
		case error:
			a[i] = safetext.Terminal(x.Error())
		case fmt.Stringer:
			a[i] = safetext.Terminal(x.String())
		}
	}
	return a
}

func writeApp(w *errWriter, r *audit.Report, o Options) {
	w.printf("== %s ==\n", r.File)
	if r.Error != "" {
		w.printf("ERROR      %s\n", r.Error)
		if r.Kind == "" {
			writeVerdict(w, r)
			return
		}
	}
	id := r.Package
	if id == "" {
		id = "(no package: " + r.Kind + ")"
	}
	ver := ""
	if r.VersionName != "" || r.VersionCode != 0 {
		ver = fmt.Sprintf(" %s (%d)", r.VersionName, r.VersionCode)
	}
	label := ""
	if r.Label != "" {
		label = fmt.Sprintf("%q ", r.Label)
	}
	w.printf("app        %s%s%s", label, id, ver)
	if r.MinSDK != 0 || r.TargetSDK != 0 {
		w.printf(", SDK min %d target %d", r.MinSDK, r.TargetSDK)
	}
	w.printf("\n")
	if r.Owner != nil {
		w.printf("owner      %s%s\n", r.Owner.Name, chainText(r.Owner.OwnerChain, r.Owner.Jurisdiction))
	}
	for _, s := range r.Signers {
		w.printf("signer     %s (SHA-256 %s, %s)", s.Subject, short(s.SHA256), strings.Join(s.Schemes, "+"))
		if s.Attribution != nil {
			w.printf(" -> %s%s", s.Attribution.Name, chainText(s.Attribution.OwnerChain, s.Attribution.Jurisdiction))
		}
		w.printf("\n")
	}
	if len(r.Signers) == 0 {
		w.printf("signer     none found\n")
	}
	code := fmt.Sprintf("%d DEX file(s), %d classes", len(r.DexFiles), r.ClassCount)
	if r.EmbeddedClassCount > 0 || len(r.Nested) > 0 {
		code += fmt.Sprintf("; nested code: %d item(s), %d classes", len(r.Nested), r.EmbeddedClassCount)
	}
	if len(r.NativeLibs) > 0 {
		code += fmt.Sprintf("; %d native librar%s", len(r.NativeLibs), plural(len(r.NativeLibs), "y", "ies"))
	}
	w.printf("code       %s\n", code)
	writeVerdict(w, r)

	if len(r.SDKs) > 0 {
		w.printf("\nSDKs of concern\n")
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fprintf(tw, "  prefix\tSDK\tclasses\towner chain\tlists\n")
		for _, s := range r.SDKs {
			n := fmt.Sprint(s.ClassCount)
			if s.EmbeddedClassCount > 0 {
				n += fmt.Sprintf(" +%d nested", s.EmbeddedClassCount)
			}
			fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.ID, clip(s.Product, 40), n,
				strings.Join(s.OwnerChain, " < ")+" ("+render.Jurisdictions(s.Jurisdiction, s.Controlling)+")", listIDs(s.Lists))
		}
		tw.Flush()
	}

	var shown []finding.Finding
	for _, f := range r.Findings {
		if f.Category == finding.CatData || f.ID == rules.IDSDK || f.ID == rules.IDEndpoint {
			continue
		}
		shown = append(shown, f)
	}
	if len(shown) > 0 {
		w.printf("\nFindings\n")
		for _, f := range shown {
			w.printf("  %-7s %s: %s\n", strings.ToUpper(f.Severity.String()), f.ID, f.Title)
			n := len(f.Evidence)
			if !o.All && n > evidenceLines {
				n = evidenceLines
			}
			for _, e := range f.Evidence[:n] {
				w.printf("          %s\n", clip(e.String(), 160))
			}
			if n < len(f.Evidence) {
				w.printf("          (%d more; --all or --json shows them)\n", len(f.Evidence)-n)
			}
		}
	}

	if len(r.DataCategories) > 0 {
		w.printf("\nPersonal data the app can reach\n")
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, d := range r.DataCategories {
			var parts []string
			if len(d.Permissions) > 0 {
				var ps []string
				for _, p := range d.Permissions {
					ps = append(ps, strings.TrimPrefix(p, "android.permission."))
				}
				parts = append(parts, "permission "+strings.Join(ps, ", "))
			}
			if len(d.APIs) > 0 {
				var as []string
				for i, a := range d.APIs {
					if i == evidenceLines && !o.All {
						as = append(as, fmt.Sprintf("%d more", len(d.APIs)-i))
						break
					}
					as = append(as, a.Value)
				}
				parts = append(parts, "api "+strings.Join(as, ", "))
			}
			line := strings.Join(parts, "; ")
			if d.Note != "" {
				line += " (" + d.Note + ")"
			}
			fprintf(tw, "  %s\t%s\n", d.Name, line)
		}
		tw.Flush()
	}

	var attributed, other []audit.Endpoint
	for _, e := range r.Endpoints {
		if e.Attributed() {
			attributed = append(attributed, e)
		} else {
			other = append(other, e)
		}
	}
	if len(attributed) > 0 {
		w.printf("\nEndpoints of concern\n")
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, e := range attributed {
			ex := ""
			if len(e.URLs) > 0 {
				ex = clip(e.URLs[0], 80)
			}
			fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Host, strings.Join(e.OwnerChain, " < ")+" ("+e.Jurisdiction+")", e.Role, ex)
		}
		tw.Flush()
	}
	if len(other) > 0 {
		if o.All {
			w.printf("\nOther hosts\n")
			for _, e := range other {
				ex := ""
				if len(e.URLs) > 0 {
					ex = "  " + clip(e.URLs[0], 100)
				}
				w.printf("  %s  [%s]%s\n", e.Host, strings.Join(e.FoundIn, ","), ex)
			}
		} else {
			w.printf("\n%d other host%s in the app (not catalogued; --all lists them)\n", len(other), plural(len(other), "", "s"))
		}
	}
	if r.EndpointsTruncated {
		w.printf("(more hosts than the host limit: the list is cut)\n")
	}
}

// writeVerdict writes the one verdict line of an app.
func writeVerdict(w *errWriter, r *audit.Report) {
	switch {
	case r.Verdict != nil:
		v := strings.ToUpper(r.Verdict.Action)
		if r.Verdict.Rule != "" {
			v += " by rule " + r.Verdict.Rule
		}
		if r.Verdict.Because != "" {
			v += ": " + r.Verdict.Because
		}
		if r.Verdict.Deadline != "" {
			v += " (from " + r.Verdict.Deadline + ")"
		}
		w.printf("verdict    %s\n", v)
	case len(r.Incomplete) > 0 && !concernBesides(r, rules.IDIncomplete):
		w.printf("verdict    INCOMPLETE: not fully read, so not cleared (%d part%s; finding %s)\n",
			len(r.Incomplete), plural(len(r.Incomplete), "", "s"), rules.IDIncomplete)
	case r.Concern && len(r.Incomplete) > 0:
		w.printf("verdict    OF CONCERN (and not fully read)\n")
	case r.Concern:
		w.printf("verdict    OF CONCERN\n")
	default:
		w.printf("verdict    nothing of concern found\n")
	}
}

// concernBesides reports whether a finding other than id makes the app of
// concern.
func concernBesides(r *audit.Report, id string) bool {
	for _, f := range r.Findings {
		if f.Concern && f.ID != id {
			return true
		}
	}
	return r.Owner != nil
}

func chainText(chain []string, jur string) string {
	if len(chain) == 0 {
		return ""
	}
	return " [" + strings.Join(chain, " < ") + ", " + jur + "]"
}

func listIDs(ls []attribute.ListRef) string {
	return render.ListIDs(ls, ", ")
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
