// Package audithtml writes audit reports as one self-contained HTML page:
// styles inline, no script, no font, image or other file fetched, so the page
// can be mailed or archived as it is and opened offline.
//
// It reads the audit model only and must never import the parsers, the
// catalog or the CLI.
package audithtml

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/render"
)

//go:embed report.html.tmpl
var pageText string

// page is parsed on first use, not at start: every outflow command links
// this package, few write the report, and parsing the template cost more
// than a short command's own work.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"join":     strings.Join,
		"upper":    strings.ToUpper,
		"sevclass": func(s finding.Severity) string { return "sev-" + s.String() },
		"shown": func(f finding.Finding) bool {
			return f.Category != finding.CatData && f.ID != rules.IDSDK && f.ID != rules.IDEndpoint
		},
		"trimperm": func(p string) string { return strings.TrimPrefix(p, "android.permission.") },
		"listids": func(r audit.SDK) string {
			return render.ListIDs(r.Lists, ", ")
		},
	}).Parse(pageText))
})

// Options tune the page.
type Options struct {
	Title string // default "outflow audit"
}

type view struct {
	Title string
	Doc   *audit.Document
}

// Write writes the page.
func Write(w io.Writer, doc *audit.Document, o Options) error {
	if o.Title == "" {
		o.Title = "outflow audit"
	}
	return page().Execute(w, view{Title: o.Title, Doc: doc})
}
