package web

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/auditfeed"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// The built-in catalog, loaded once for every test that checks a policy.
var builtin struct {
	once sync.Once
	ix   *catalog.Index
	err  error
}

func builtinCatalog(time.Time) (*catalog.Index, error) {
	builtin.once.Do(func() { builtin.ix, builtin.err = catalog.Open(testNow) })
	return builtin.ix, builtin.err
}

const viewerPassword = "viewer horse battery"

// policyServer serves a store of its own (the fixture, written by one
// process and opened read-only by the dashboard, as in production) with
// an admin (ana), a viewer (vic), a token, and a policy file.
func policyServer(t *testing.T, policyText string) (*testServer, string, store.PolicyLog) {
	t.Helper()
	dir := t.TempDir()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(dir, "outflow.db")
	cfg.Retention, cfg.RollupRetention, cfg.MaxSize = 0, 0, 0
	ctx := context.Background()
	w, err := sqlite.OpenWith(ctx, cfg, nil, sqlite.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	db, err := sqlite.OpenReadOnly(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pol := filepath.Join(dir, "policy.yaml")
	if policyText != "" {
		if err := os.WriteFile(pol, []byte(policyText), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wc, tok := withUsers(t)
	wc.Auth.Users[0].Role = auth.Admin
	wc.Auth.Users = append(wc.Auth.Users, auth.User{Name: "vic", PasswordHash: cheapHash(t, viewerPassword)})
	wc.Policy = pol
	logs := &syncBuffer{}
	// The audit worker: the audit package and the store writer, as
	// `outflow audit --store` runs them (serve runs that command).
	auditFn := func(ctx context.Context, path string) error {
		ix, err := builtinCatalog(testNow)
		if err != nil {
			return err
		}
		r := audit.New(audit.DefaultConfig(), attribute.New(ix), nil, func() time.Time { return testNow }).Audit(ctx, path)
		w, err := sqlite.Open(ctx, cfg, nil)
		if err != nil {
			return err
		}
		if err := w.Write(ctx, auditfeed.Batch(r, testNow, "")); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	wc.UploadDir, wc.UploadMax = dir, 1<<20
	s, err := New(wc, Deps{Reader: db, Now: func() time.Time { return testNow }, Catalog: builtinCatalog, Audit: auditFn,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	_ = tok
	return &testServer{Server: s, logs: logs}, pol, db
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn logs user in and returns the session cookie and its CSRF token.
func signIn(t *testing.T, s *testServer, user, pw string) (*http.Cookie, string) {
	t.Helper()
	resp := s.do(t, req{target: "/login"})
	pre := cookie(resp, s.preCookie())
	m := csrfRE.FindStringSubmatch(readBody(t, resp))
	resp = s.do(t, req{method: http.MethodPost, target: "/login", cookies: []*http.Cookie{pre},
		form: url.Values{"user": {user}, "password": {pw}, "csrf": {m[1]}, "next": {"/policy"}}})
	sess := cookie(resp, s.sessionCookie())
	if resp.StatusCode != http.StatusSeeOther || sess == nil {
		t.Fatalf("login of %s: status %d", user, resp.StatusCode)
	}
	resp = s.do(t, req{target: "/policy", cookies: []*http.Cookie{sess}})
	m = csrfRE.FindStringSubmatch(readBody(t, resp))
	if m == nil {
		t.Fatalf("no CSRF token on the policy page for %s", user)
	}
	return sess, m[1]
}

const startPolicy = `# the test's policy
groups:
  - name: guests
    addresses: [192.168.50.11/32]

rules:
  - id: xiaomi-2026
    action: block
    entities: xiaomi
    groups: guests
    effective: 2026-04-01
`

// TestChangesNeedAnAdmin sends every state-changing request without a
// session, with a token, without a CSRF token, and with a viewer's
// session and valid token: each is refused and nothing changes.
func TestChangesNeedAnAdmin(t *testing.T) {
	s, pol, pl := policyServer(t, startPolicy)
	_, tok := withUsers(t)
	_ = tok
	adminSess, _ := signIn(t, s, "ana", testPassword)
	viewSess, viewCSRF := signIn(t, s, "vic", viewerPassword)
	draft := strings.Replace(startPolicy, "guests", "everyone", 1)
	routes := s.adminRoutes()
	if len(routes) < 3 {
		t.Fatalf("only %d admin routes", len(routes))
	}
	for _, a := range routes {
		target := strings.ReplaceAll(a.path, "{id}", "1")
		// Each route with each of the forms' operations: adding, editing
		// and deleting a group, a rule or a rule's exceptions.
		form := func(csrf, op string) url.Values {
			f := url.Values{"csrf": {csrf}, "policy": {draft}, "base": {fileHash([]byte(startPolicy))}, "comment": {"try"}}
			if op != "" {
				kind, op, _ := strings.Cut(op, " ")
				f.Set("kind", kind)
				f.Set("op", op)
				f.Set("orig", map[string]string{"group": "guests", "rule": "xiaomi-2026"}[kind])
				f.Set("name", "staff")
				f.Set("id", "r2")
				f.Set("names", "example.com")
			}
			return f
		}
		ops := []string{"", "group group", "rule rule", "group edit", "group delete", "rule edit", "rule delete", "rule except-delete"}
		for _, tc := range []struct {
			name    string
			cookies []*http.Cookie
			csrf    string
			header  map[string]string
			want    int
		}{
			{"no session", nil, viewCSRF, nil, http.StatusUnauthorized},
			{"api token", nil, viewCSRF, map[string]string{"Authorization": "Bearer " + tok}, http.StatusUnauthorized},
			{"admin without CSRF token", []*http.Cookie{adminSess}, "", nil, http.StatusForbidden},
			{"admin with another session's token", []*http.Cookie{adminSess}, viewCSRF, nil, http.StatusForbidden},
			{"viewer", []*http.Cookie{viewSess}, viewCSRF, nil, http.StatusForbidden},
			{"viewer, token in the header", []*http.Cookie{viewSess}, "", map[string]string{"X-CSRF-Token": viewCSRF}, http.StatusForbidden},
		} {
			t.Run(target+"/"+tc.name, func(t *testing.T) {
				for _, op := range ops {
					for _, accept := range []string{"text/html", "application/json"} {
						h := map[string]string{"Accept": accept}
						for k, v := range tc.header {
							h[k] = v
						}
						resp := s.do(t, req{method: http.MethodPost, target: target, cookies: tc.cookies, form: form(tc.csrf, op), header: h})
						body := readBody(t, resp)
						if resp.StatusCode != tc.want {
							t.Fatalf("op %q, %s: status %d, want %d: %s", op, accept, resp.StatusCode, tc.want, body)
						}
					}
				}
			})
		}
		// GET is not a way around it.
		if resp := s.do(t, req{target: target, cookies: []*http.Cookie{adminSess}}); resp.StatusCode < 400 {
			t.Errorf("GET %s: status %d", target, resp.StatusCode)
		}
	}
	// The API token: read-only, whatever it sends (403, as for login).
	resp := s.do(t, req{method: http.MethodPost, target: "/policy/save", header: map[string]string{"Authorization": "Bearer " + tok},
		form: url.Values{"policy": {draft}}})
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("token save: status %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(pol); string(b) != startPolicy {
		t.Fatalf("the policy file changed:\n%s", b)
	}
	if cs, err := pl.PolicyChanges(context.Background(), store.Filter{}); err != nil || len(cs) != 0 {
		t.Fatalf("history %v %v", cs, err)
	}
	// The viewer sees the policy, not the forms.
	body := readBody(t, s.do(t, req{target: "/policy", cookies: []*http.Cookie{viewSess}}))
	if !strings.Contains(body, "xiaomi-2026") || strings.Contains(body, `action="/policy/save"`) || strings.Contains(body, `name="orig"`) ||
		!strings.Contains(body, "Only an admin") {
		t.Fatalf("viewer's policy page:\n%s", body)
	}
}

var (
	textareaRE = regexp.MustCompile(`(?s)<textarea id="policy-text" name="policy"[^>]*>\n(.*?)</textarea>`)
	baseRE     = regexp.MustCompile(`name="base" value="([0-9a-f]*)"`)
)

func draftOf(t *testing.T, body string) (text, base string) {
	t.Helper()
	m, b := textareaRE.FindStringSubmatch(body), baseRE.FindStringSubmatch(body)
	if m == nil || b == nil {
		t.Fatalf("no draft or base in:\n%s", body)
	}
	return html.UnescapeString(m[1]), b[1]
}

// TestPolicyEdit is an admin's change: a group and a rule added through
// the forms, previewed, refused without a comment, saved, seen in the
// history, and reverted.
func TestPolicyEdit(t *testing.T) {
	s, pol, pl := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	post := func(target string, f url.Values) (*http.Response, string) {
		f.Set("csrf", csrf)
		resp := s.do(t, req{method: http.MethodPost, target: target, cookies: []*http.Cookie{sess}, form: f})
		return resp, readBody(t, resp)
	}
	body := readBody(t, s.do(t, req{target: "/policy", cookies: []*http.Cookie{sess}}))
	text, base := draftOf(t, body)
	if text != startPolicy || base != fileHash([]byte(startPolicy)) {
		t.Fatalf("editor holds %q base %s", text, base)
	}
	resp, body := post("/policy/preview", url.Values{"op": {"group"}, "policy": {text}, "base": {base}, "name": {"staff"},
		"addresses": {"192.168.50.10/32, 192.168.50.12/32"}})
	if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusOK {
		t.Fatalf("add group: %d\n%s", resp.StatusCode, body)
	}
	text, base = draftOf(t, body)
	resp, body = post("/policy/preview", url.Values{"op": {"rule"}, "policy": {text}, "base": {base}, "id": {"tiktok-staff"},
		"action": {"block"}, "entities": {"bytedance"}, "groups": {"staff"}, "effective": {"2026-03-01"}, "warning": {"30d"},
		"basis": {"Board decision 2026-02"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("add rule: %d\n%s", resp.StatusCode, body)
	}
	text, base = draftOf(t, body)
	for _, want := range []string{"- name: staff", "addresses: [192.168.50.10/32, 192.168.50.12/32]", "- id: tiktok-staff", "entities: [bytedance]",
		"effective: \"2026-03-01\"", "basis: Board decision 2026-02"} {
		if !strings.Contains(text, want) {
			t.Fatalf("draft lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(text, "# the test's policy\n") {
		t.Fatalf("the draft lost the file's comment:\n%s", text)
	}
	// The preview: the laptop's TikTok names go from allow to block under
	// the new rule; the phone's Xiaomi name does not change.
	prev := body[strings.Index(body, `aria-label="Preview"`):]
	prev = prev[:strings.Index(prev, "</section>")]
	for _, want := range []string{"www.tiktok.com", "log.tiktokv.com", "tiktok-staff", "192.168.50.10", "v-block"} {
		if !strings.Contains(prev, want) {
			t.Fatalf("preview lacks %q:\n%s", want, prev)
		}
	}
	if strings.Contains(prev, "api.io.mi.com") || strings.Contains(prev, "en.wikipedia.org") {
		t.Fatalf("preview lists names the change does not touch:\n%s", prev)
	}
	if !strings.Contains(html.UnescapeString(body), `class="d-add">+  - id: tiktok-staff`) {
		t.Fatalf("no diff on the preview:\n%s", body)
	}
	// Without a comment: refused, nothing written.
	resp, body = post("/policy/save", url.Values{"policy": {text}, "base": {base}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "needs a comment") {
		t.Fatalf("save without a comment: %d", resp.StatusCode)
	}
	// A stale base: refused.
	resp, _ = post("/policy/save", url.Values{"policy": {text}, "base": {fileHash([]byte("other"))}, "comment": {"ban TikTok for staff"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("save over a changed file: %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(pol); string(b) != startPolicy {
		t.Fatal("a refused save wrote the file")
	}
	resp, body = post("/policy/save", url.Values{"policy": {text}, "base": {base}, "comment": {"ban TikTok for staff"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policy/history/1" {
		t.Fatalf("save: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if b, _ := os.ReadFile(pol); string(b) != text {
		t.Fatalf("file after save:\n%s", b)
	}
	if st, _ := os.Stat(pol); st.Mode().Perm() != 0o644 {
		t.Fatalf("the file's mode changed to %o", st.Mode().Perm())
	}
	if _, err := policy.Load(pol); err != nil {
		t.Fatalf("the saved policy does not load: %v", err)
	}
	c, err := pl.PolicyChange(context.Background(), 1)
	if err != nil || c.User != "ana" || c.Comment != "ban TikTok for staff" || c.Before != startPolicy || c.After != text ||
		!strings.Contains(c.Diff, "+  - id: tiktok-staff") || !c.Time.Equal(testNow) {
		t.Fatalf("recorded %+v %v", c, err)
	}
	body = readBody(t, s.do(t, req{target: "/policy/history", cookies: []*http.Cookie{sess}}))
	if !strings.Contains(body, "ban TikTok for staff") || !strings.Contains(body, `href="/policy/history/1"`) {
		t.Fatalf("history page:\n%s", body)
	}
	// Revert: a draft of the old file, previewed, then saved with a
	// comment and recorded as reverting change 1.
	body = readBody(t, s.do(t, req{target: "/policy/history/1", cookies: []*http.Cookie{sess}}))
	if !strings.Contains(body, `action="/policy/history/1/revert"`) {
		t.Fatalf("no revert form:\n%s", body)
	}
	resp, body = post("/policy/history/1/revert", url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="reverts" value="1"`) || !strings.Contains(body, `aria-label="Preview"`) ||
		!strings.Contains(html.UnescapeString(body), `class="d-del">-  - id: tiktok-staff`) {
		t.Fatalf("revert: %d\n%s", resp.StatusCode, body)
	}
	text, base = draftOf(t, body)
	if text != startPolicy {
		t.Fatalf("revert draft:\n%s", text)
	}
	if b, _ := os.ReadFile(pol); string(b) == startPolicy {
		t.Fatal("the revert saved without a comment")
	}
	resp, _ = post("/policy/save", url.Values{"policy": {text}, "base": {base}, "reverts": {"1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("revert without a comment: %d", resp.StatusCode)
	}
	resp, body = post("/policy/save", url.Values{"policy": {text}, "base": {base}, "reverts": {"1"}, "comment": {"wrong group"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policy/history/2" {
		t.Fatalf("revert saved: %d\n%s", resp.StatusCode, body)
	}
	if b, _ := os.ReadFile(pol); string(b) != startPolicy {
		t.Fatalf("file after revert:\n%s", b)
	}
	c, err = pl.PolicyChange(context.Background(), 2)
	if err != nil || c.Reverts != 1 || c.After != startPolicy || c.Comment != "wrong group" {
		t.Fatalf("revert recorded as %+v %v", c, err)
	}
	// Change 1 is undone already: reverting it again changes nothing.
	resp, body = post("/policy/history/1/revert", url.Values{"comment": {"again"}})
	if text, _ := draftOf(t, body); resp.StatusCode != http.StatusOK || text != startPolicy || !strings.Contains(body, "The draft is the policy as it is") {
		t.Fatalf("second revert: %d\n%s", resp.StatusCode, body)
	}
	// A revert naming a change the history does not hold is refused.
	resp, _ = post("/policy/save", url.Values{"policy": {startPolicy + "# x\n"}, "base": {fileHash([]byte(startPolicy))}, "reverts": {"99"}, "comment": {"x"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("save reverting change 99: %d", resp.StatusCode)
	}
	if !strings.Contains(s.logs.String(), "policy changed") || strings.Contains(s.logs.String(), testPassword) {
		t.Fatal("log: no change line, or a password")
	}
}

// TestPolicyEditForms: an existing rule and group changed and deleted
// through their forms: each form changes only its item's lines of the
// draft, is checked and previewed as any draft, and is saved with a
// comment into the file and the history.
func TestPolicyEditForms(t *testing.T) {
	s, pol, pl := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	post := func(f url.Values) (*http.Response, string) {
		f.Set("csrf", csrf)
		resp := s.do(t, req{method: http.MethodPost, target: "/policy/preview", cookies: []*http.Cookie{sess}, form: f})
		return resp, readBody(t, resp)
	}
	body := readBody(t, s.do(t, req{target: "/policy", cookies: []*http.Cookie{sess}}))
	for _, want := range []string{`aria-label="Rule xiaomi-2026"`, `aria-label="Group guests"`, `name="orig" value="xiaomi-2026"`,
		`name="effective" value="2026-04-01"`, `name="addresses" value="192.168.50.11/32"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("the policy page lacks %s:\n%s", want, body)
		}
	}
	text, base := draftOf(t, body)
	rule := func(op string, kv ...string) url.Values {
		f := url.Values{"op": {op}, "kind": {"rule"}, "orig": {"xiaomi-2026"}, "policy": {text}, "base": {base},
			"id": {"xiaomi-2026"}, "action": {"block"}, "entities": {"xiaomi"}, "groups": {"guests"}, "effective": {"2026-04-01"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}

	// A deadline moved and an exception added: only those lines change.
	resp, body := post(rule("edit", "effective", "2026-05-01", "except_names", "update.miui.com", "except_until", "2026-06-30"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit rule: %d\n%s", resp.StatusCode, body)
	}
	text, base = draftOf(t, body)
	want := strings.Replace(startPolicy, "    effective: 2026-04-01\n",
		"    effective: \"2026-05-01\"\n    except:\n      names: [update.miui.com]\n      until: \"2026-06-30\"\n", 1)
	if text != want {
		t.Fatalf("draft after the edit:\n%s\nwant:\n%s", text, want)
	}
	if !strings.Contains(html.UnescapeString(body), `class="d-add">+    effective: "2026-05-01"`) {
		t.Fatalf("no diff of the edit on the preview:\n%s", body)
	}
	// The edited draft's forms hold the edit.
	if !strings.Contains(body, `name="except_names" value="update.miui.com"`) || !strings.Contains(body, `value="except-delete"`) {
		t.Fatal("the rule's form does not show the draft's exceptions")
	}
	// An edit that breaks the policy is reported as resolve check does.
	resp, body = post(rule("edit", "groups", "nobody"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, pol+":") || !strings.Contains(body, "nobody") {
		t.Fatalf("edit to an unknown group: %d\n%s", resp.StatusCode, body)
	}
	// A rule the draft does not hold.
	resp, body = post(rule("edit", "orig", "gone"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "rule gone: not in the policy") {
		t.Fatalf("edit of a missing rule: %d", resp.StatusCode)
	}
	// Forms do not save: the draft is previewed first.
	resp = s.do(t, req{method: http.MethodPost, target: "/policy/save", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {text}, "base": {base}, "comment": {"x"}, "op": {"delete"}, "kind": {"rule"}, "orig": {"xiaomi-2026"}}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("save with a form's operation: %d", resp.StatusCode)
	}
	resp = s.do(t, req{method: http.MethodPost, target: "/policy/save", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {text}, "base": {base}, "comment": {"Xiaomi: a month more, updates allowed"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policy/history/1" {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(pol); string(b) != want {
		t.Fatalf("file after save:\n%s", b)
	}
	c, err := pl.PolicyChange(context.Background(), 1)
	if err != nil || c.Before != startPolicy || c.After != want || c.User != "ana" || !strings.Contains(c.Diff, "-    effective: 2026-04-01\n+    effective: \"2026-05-01\"") {
		t.Fatalf("history: %+v %v", c, err)
	}

	// The exceptions deleted, the rule made for every client and its
	// group deleted: one draft, three forms.
	body = readBody(t, s.do(t, req{target: "/policy", cookies: []*http.Cookie{sess}}))
	text, base = draftOf(t, body)
	_, body = post(rule("except-delete", "effective", "2026-05-01"))
	text, _ = draftOf(t, body)
	if text != strings.Replace(startPolicy, "2026-04-01", `"2026-05-01"`, 1) {
		t.Fatalf("exceptions deleted:\n%s", text)
	}
	// Deleting the group a rule names is refused by the check.
	resp, body = post(url.Values{"op": {"delete"}, "kind": {"group"}, "orig": {"guests"}, "policy": {text}, "base": {base}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "guests") {
		t.Fatalf("group in use deleted: %d", resp.StatusCode)
	}
	_, body = post(rule("edit", "groups", "", "effective", "2026-05-01"))
	text, _ = draftOf(t, body)
	resp, body = post(url.Values{"op": {"delete"}, "kind": {"group"}, "orig": {"guests"}, "policy": {text}, "base": {base}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("group deleted: %d\n%s", resp.StatusCode, body)
	}
	text, base = draftOf(t, body)
	want = "# the test's policy\ngroups:\n\nrules:\n  - id: xiaomi-2026\n    action: block\n    entities: xiaomi\n    effective: \"2026-05-01\"\n"
	if text != want {
		t.Fatalf("draft:\n%s\nwant:\n%s", text, want)
	}
	resp = s.do(t, req{method: http.MethodPost, target: "/policy/save", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {text}, "base": {base}, "comment": {"Xiaomi for everyone"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(pol); string(b) != want {
		t.Fatalf("file after save:\n%s", b)
	}
	if c, err := pl.PolicyChange(context.Background(), 2); err != nil || c.Comment != "Xiaomi for everyone" || !strings.Contains(c.Diff, "-  - name: guests") {
		t.Fatalf("history: %+v %v", c, err)
	}

	// Groups by MAC and DHCP hostname, added and then edited by form,
	// checked as resolve check checks them.
	resp, body = post(url.Values{"op": {"group"}, "policy": {text}, "base": {base}, "name": {"lab"}, "macs": {"a4:c1:38"}, "hostnames": {"lab-*"}})
	if text, _ = draftOf(t, body); resp.StatusCode != http.StatusOK || !strings.Contains(text, "- name: lab\n  macs: ['a4:c1:38']\n  hostnames: [lab-*]\n") {
		t.Fatalf("group by MAC: %d\n%s", resp.StatusCode, text)
	}
	if body = readBody(t, s.do(t, req{method: http.MethodPost, target: "/policy/preview", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {text}, "base": {base}}})); !strings.Contains(body, `name="macs" value="a4:c1:38"`) {
		t.Fatal("the group's form does not show its MACs")
	}
	resp, body = post(url.Values{"op": {"edit"}, "kind": {"group"}, "orig": {"lab"}, "policy": {text}, "base": {base}, "name": {"lab"},
		"macs": {"a4:c1:38, not-a-mac"}, "hostnames": {"lab-*"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, pol+":") || !strings.Contains(body, "not-a-mac") {
		t.Fatalf("a bad MAC: %d\n%s", resp.StatusCode, body)
	}
}

// TestPolicyRevertOlder: an older change is reverted in the policy as
// it is now when the later changes touch other lines; when one touches
// the same lines the revert is refused naming it, and the policy as of
// before the change can be restored instead.
func TestPolicyRevertOlder(t *testing.T) {
	s, pol, pl := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	post := func(target string, f url.Values) (*http.Response, string) {
		f.Set("csrf", csrf)
		resp := s.do(t, req{method: http.MethodPost, target: target, cookies: []*http.Cookie{sess}, form: f})
		return resp, readBody(t, resp)
	}
	save := func(text, comment string, reverts int) {
		t.Helper()
		cur, _ := os.ReadFile(pol)
		resp, body := post("/policy/save", url.Values{"policy": {text}, "base": {fileHash(cur)}, "comment": {comment}, "reverts": {strconv.Itoa(reverts)}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save %q: %d\n%s", comment, resp.StatusCode, body)
		}
	}
	staff := "  - name: staff\n    addresses: [192.168.50.10/32]\n"
	v1 := strings.Replace(startPolicy, "effective: 2026-04-01", "effective: 2026-05-01", 1)
	v2 := strings.Replace(v1, "\n\nrules:", "\n"+staff+"\nrules:", 1)
	v3 := strings.Replace(v2, "effective: 2026-05-01", "effective: 2026-06-01", 1)
	save(v1, "Xiaomi: a month more", 0)
	save(v2, "staff group", 0)
	save(v3, "Xiaomi: another month", 0)

	// Change 2 is older than the file, and no later change touched its
	// lines: the draft takes the group out and keeps change 3.
	resp, body := post("/policy/history/2/revert", url.Values{"comment": {"no staff group after all"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revert of change 2: %d\n%s", resp.StatusCode, body)
	}
	text, _ := draftOf(t, body)
	if want := strings.Replace(v3, staff, "", 1); text != want {
		t.Fatalf("revert draft:\n%s\nwant:\n%s", text, want)
	}
	if !strings.Contains(body, `name="reverts" value="2"`) || !strings.Contains(body, `value="no staff group after all"`) {
		t.Fatal("the draft does not carry the revert or its comment")
	}
	save(text, "no staff group after all", 2)
	if b, _ := os.ReadFile(pol); string(b) != strings.Replace(v3, staff, "", 1) {
		t.Fatalf("file after the revert:\n%s", b)
	}
	if c, err := pl.PolicyChange(context.Background(), 4); err != nil || c.Reverts != 2 || c.Before != v3 || !strings.Contains(c.Diff, "-  - name: staff") {
		t.Fatalf("history: %+v %v", c, err)
	}

	// Change 1's line was changed again by change 3: refused, naming it,
	// with nothing written.
	before, _ := os.ReadFile(pol)
	resp, body = post("/policy/history/1/revert", url.Values{"comment": {"back to April"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Change 1 cannot be reverted on its own") ||
		!strings.Contains(html.UnescapeString(body), `change 3 (ana, `) || !strings.Contains(html.UnescapeString(body), `"Xiaomi: another month"`) ||
		!strings.Contains(body, `action="/policy/history/1/restore"`) {
		t.Fatalf("conflicting revert: %d\n%s", resp.StatusCode, body)
	}
	if b, _ := os.ReadFile(pol); string(b) != string(before) {
		t.Fatal("a refused revert wrote the file")
	}
	// The explicit restore: the file as it was before change 1.
	resp, body = post("/policy/history/1/restore", url.Values{"comment": {"back to April"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "every change after it") {
		t.Fatalf("restore: %d\n%s", resp.StatusCode, body)
	}
	if text, _ = draftOf(t, body); text != startPolicy {
		t.Fatalf("restore draft:\n%s", text)
	}
	save(text, "back to April", 1)
	if b, _ := os.ReadFile(pol); string(b) != startPolicy {
		t.Fatalf("file after the restore:\n%s", b)
	}
	if c, err := pl.PolicyChange(context.Background(), 5); err != nil || c.Reverts != 1 || c.After != startPolicy {
		t.Fatalf("history: %+v %v", c, err)
	}
}

// TestPolicyProblems: a draft is checked as `outflow resolve check`
// checks a file, with the same positioned messages, and not saved.
func TestPolicyProblems(t *testing.T) {
	s, pol, _ := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	bad := startPolicy + "  - id: broken\n    action: block\n    entities: no-such-entity\n    deadline: tomorrow\n"
	resp := s.do(t, req{method: http.MethodPost, target: "/policy/save", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {bad}, "base": {fileHash([]byte(startPolicy))}, "comment": {"x"}}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// What resolve check says of the same file.
	other := filepath.Join(t.TempDir(), "x")
	os.WriteFile(other, []byte(bad), 0o600)
	_, err := policy.Load(other)
	if err == nil {
		t.Fatal("the bad policy loads")
	}
	want := strings.ReplaceAll(err.Error(), other, pol)
	if !strings.Contains(want, ":15:5: unknown key \"deadline\"") {
		t.Fatalf("resolve check's message: %s", want)
	}
	for _, line := range strings.Split(want, "\n") {
		if !strings.Contains(body, html.EscapeString(line)) {
			t.Fatalf("the page lacks %q:\n%s", line, body)
		}
	}
	if b, _ := os.ReadFile(pol); string(b) != startPolicy {
		t.Fatal("a bad policy was written")
	}
	// An unknown entity is caught by the catalog check, as resolve check does.
	bad = strings.Replace(startPolicy, "entities: xiaomi", "entities: no-such-entity", 1)
	resp = s.do(t, req{method: http.MethodPost, target: "/policy/preview", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf}, "policy": {bad}, "base": {fileHash([]byte(startPolicy))}}})
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "no-such-entity") || !strings.Contains(body, pol+":7: rule xiaomi-2026") {
		i := strings.Index(body, "Problems")
		t.Fatalf("unknown entity: %d\n%s", resp.StatusCode, body[i:i+600])
	}
}

// TestRolesAndProxy: roles come from the configuration; a reverse
// proxy's user header is believed only from a trusted proxy, and makes
// viewers unless the user is listed as an admin.
func TestRolesAndProxy(t *testing.T) {
	c := DefaultConfig()
	c.Auth.Users = []auth.User{{Name: "ana", PasswordHash: cheapHash(t, "pw"), Role: "root"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `role "root"`) {
		t.Fatalf("role root: %v", err)
	}
	c.Auth.Users = nil
	c.Listen = "0.0.0.0:8080"
	c.Auth.Proxy = auth.Proxy{Header: "X-Remote-User", Admins: []string{"ana"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs trusted_proxies") {
		t.Fatalf("proxy header without trusted proxies: %v", err)
	}
	c.TrustedProxies = []string{"10.9.9.0/24"}
	if err := c.Validate(); err != nil {
		t.Fatalf("proxy auth beyond loopback: %v", err)
	}
	s := newTestServer(t, c)
	viaProxy := func(user string, from string) *http.Response {
		return s.do(t, req{target: "/policy", from: from, header: map[string]string{"X-Remote-User": user}})
	}
	// From anyone else the header is ignored: sign in first.
	resp := viaProxy("ana", "192.0.2.7:5000")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("header from an untrusted peer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tc := range []struct {
		user  string
		admin bool
	}{{"ana", true}, {"bob", false}} {
		resp := viaProxy(tc.user, "10.9.9.1:5000")
		body := readBody(t, resp)
		sess := cookie(resp, s.sessionCookie())
		if resp.StatusCode != http.StatusOK || sess == nil || !strings.Contains(body, "<span>"+tc.user) {
			t.Fatalf("%s through the proxy: %d, cookie %v", tc.user, resp.StatusCode, sess)
		}
		if strings.Contains(body, `<span class="tag">admin</span>`) != tc.admin {
			t.Fatalf("%s: admin %v expected", tc.user, tc.admin)
		}
		// The session carries on with its cookie and CSRF token as after a
		// password login; the proxy's header for the same user does not
		// start another.
		resp = s.do(t, req{target: "/policy", from: "10.9.9.1:5000", cookies: []*http.Cookie{sess}, header: map[string]string{"X-Remote-User": tc.user}})
		if resp.StatusCode != http.StatusOK || cookie(resp, s.sessionCookie()) != nil {
			t.Fatalf("%s: second request %d, new cookie %v", tc.user, resp.StatusCode, cookie(resp, s.sessionCookie()))
		}
	}
	// Another user's header with bob's cookie is that user, not bob.
	resp = viaProxy("ana", "10.9.9.1:5000")
	anaSess := cookie(resp, s.sessionCookie())
	resp = s.do(t, req{target: "/policy", from: "10.9.9.1:5000", cookies: []*http.Cookie{anaSess}, header: map[string]string{"X-Remote-User": "bob"}})
	if body := readBody(t, resp); !strings.Contains(body, "<span>bob") || strings.Contains(body, `<span class="tag">admin</span>`) {
		t.Fatal("the proxy's user did not replace the cookie's")
	}
}
