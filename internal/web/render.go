package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one set per page so that each page
// defines its own "content".
type pages struct {
	t map[string]*template.Template
}

func parsePages(s *Server) (*pages, error) {
	base, err := template.New("layout.html").Funcs(s.funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", n, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string // the active menu entry
	Who    who
	AuthOn bool
	CSRF   string // the token for the logout form (and any other POST)
	P      period
	Q      url.Values // the selection to keep in links
	Path   string
	Now    time.Time
	Data   any
	Search string
}

func (s *Server) newView(r *http.Request, nav, title string) *view {
	id := whoFrom(r.Context())
	v := &view{Title: title, Nav: nav, Who: id, AuthOn: s.auth.Enabled(), Path: r.URL.Path,
		Q: keep(r.URL.Query()), Now: s.now().UTC()}
	if id.Session != "" {
		v.CSRF = s.auth.CSRFToken("s:" + id.Session)
	}
	return v
}

// render executes a page into a buffer first, so that a template error
// becomes a 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, v *view) {
	t := s.pages.t[name]
	var b bytes.Buffer
	if t == nil {
		s.log.Error("no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	v := s.newView(r, "", http.StatusText(code))
	v.Data = struct {
		Code int
		Msg  string
	}{code, msg}
	s.render(w, r, code, "error", v)
}

// static serves the embedded assets, cacheable for an hour.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.fail(w, r, http.StatusNotFound, "no such file")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
