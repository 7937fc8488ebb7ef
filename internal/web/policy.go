package web

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/policy/policyfile"
	"github.com/outflow-dev/outflow/internal/store"
)

// The policy pages: admins edit the policy file the resolvers and
// sensors read. A change is checked as `outflow resolve check` checks a
// file, previewed against what the store saw in the last week, written
// atomically (outfile: temporary file, fsync, rename) and recorded in the
// store's history with who, when, why and the diff. The resolvers notice
// the new file by their watch (reload.watch, 5 s by default) and the
// sensors by theirs; nothing is signalled, so a resolver on another
// machine needs the file brought to it (docs/dashboard.md).

// maxComment bounds a change's comment.
const maxComment = 2000

// previewRows bounds the detail rows (queries, flows) a preview reads.
const previewRows = 20000

// adminRoutes are every request that changes state beyond the caller's
// own session: POST, an admin's session and its CSRF token.
func (s *Server) adminRoutes() []route {
	return []route{
		{"/policy/preview", s.policyPreview},
		{"/policy/save", s.policySave},
		{"/policy/history/{id}/revert", s.policyRevert},
		{"/policy/history/{id}/restore", s.policyRestore},
		{"/apps/upload", s.upload},
	}
}

// policyData is the policy page: the file, or a draft with its problems,
// diff and preview.
type policyData struct {
	File     string
	Off      string // why the page cannot edit, when it cannot
	Text     string // the file, or the draft
	Base     string // SHA-256 of the file the draft started from
	Draft    bool   // Text is not the file
	Problems []string
	Diff     string
	Preview  *preview
	Comment  string
	Error    string
	Admin    bool
	Changes  []store.PolicyChange // the latest few
	// the groups and rules of Text, each with a form to change or
	// delete it; EntriesError says why there are none
	Entries      *policyfile.Entries
	EntriesError string
	// Reverts is the change the draft undoes (a revert or a restore from
	// the history), recorded with the change when it is saved.
	Reverts int64
	Note    string
}

func fileHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readPolicy reads the policy file; a file that does not exist yet reads
// as empty (the first save creates it).
func (s *Server) readPolicy() ([]byte, error) {
	f, err := os.Open(s.cfg.Policy)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, policy.MaxFileSize+1))
	if err == nil && len(b) > policy.MaxFileSize {
		err = fmt.Errorf("%s: larger than %d bytes", s.cfg.Policy, policy.MaxFileSize)
	}
	return b, err
}

func (s *Server) policyLog() (store.PolicyLog, bool) {
	pl, ok := s.r.(store.PolicyLog)
	return pl, ok
}

// policyOff says why policy editing is unavailable, "" when it is not.
func (s *Server) policyOff() string {
	if s.cfg.Policy == "" {
		return "No policy file is configured (policy: in the configuration file, or outflow serve --policy FILE)."
	}
	if _, ok := s.policyLog(); !ok {
		return "This store keeps no change history, so the policy cannot be changed here."
	}
	return ""
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) {
	d := &policyData{File: s.cfg.Policy, Off: s.policyOff(), Admin: whoFrom(r.Context()).Admin()}
	if s.cfg.Policy != "" {
		b, err := s.readPolicy()
		if err != nil {
			s.log.Error("policy: read", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "the policy file cannot be read; see the server's log")
			return
		}
		d.Text, d.Base = string(b), fileHash(b)
	}
	if pl, ok := s.policyLog(); ok {
		d.Changes, _ = pl.PolicyChanges(r.Context(), store.Filter{Limit: 5})
	}
	s.showPolicy(w, r, http.StatusOK, d)
}

func (s *Server) showPolicy(w http.ResponseWriter, r *http.Request, code int, d *policyData) {
	if d.Admin && d.Off == "" {
		e, err := policyfile.List([]byte(d.Text))
		if err != nil {
			d.EntriesError = "The groups and rules cannot be listed for their forms: " + err.Error()
		} else {
			d.Entries = &e
		}
	}
	v := s.newView(r, "policy", "Policy")
	v.Data = d
	s.render(w, r, code, "policy", v)
}

// draftFrom reads the posted draft and applies the structured form's
// operation, if any, to it: op "group" or "rule" adds one; "edit",
// "delete" and "except-delete" change the group or rule (kind) the
// draft names orig.
func draftFrom(r *http.Request) (string, error) {
	text := strings.ReplaceAll(r.PostFormValue("policy"), "\r\n", "\n")
	if len(text) > policy.MaxFileSize {
		return text, fmt.Errorf("the policy is larger than %d bytes", policy.MaxFileSize)
	}
	op, kind, orig := r.PostFormValue("op"), r.PostFormValue("kind"), r.PostFormValue("orig")
	var b []byte
	var err error
	switch {
	case op == "":
		return text, nil
	case op == "group":
		b, err = policyfile.AddGroup([]byte(text), formGroup(r))
	case op == "rule":
		b, err = policyfile.AddRule([]byte(text), formRule(r))
	case op == "edit" && kind == "group":
		b, err = policyfile.EditGroup([]byte(text), orig, formGroup(r))
	case op == "delete" && kind == "group":
		b, err = policyfile.DeleteGroup([]byte(text), orig)
	case op == "edit" && kind == "rule":
		b, err = policyfile.EditRule([]byte(text), orig, formRule(r))
	case op == "except-delete" && kind == "rule":
		ru := formRule(r)
		ru.Except = nil
		b, err = policyfile.EditRule([]byte(text), orig, ru)
	case op == "delete" && kind == "rule":
		b, err = policyfile.DeleteRule([]byte(text), orig)
	default:
		return text, errors.New("unknown operation")
	}
	if err != nil {
		return text, err
	}
	return string(b), nil
}

// formList is a form field of several values, separated by commas,
// spaces or lines.
func formList(r *http.Request, k string) []string {
	return strings.FieldsFunc(r.PostFormValue(k), func(c rune) bool { return c == ',' || c == '\n' || c == '\r' || c == ' ' || c == '\t' })
}

func formGroup(r *http.Request) policyfile.Group {
	return policyfile.Group{Name: strings.TrimSpace(r.PostFormValue("name")), Addresses: formList(r, "addresses"), ClientNames: formList(r, "client_names"),
		MACs: formList(r, "macs"), Hostnames: formList(r, "hostnames")}
}

func formRule(r *http.Request) policyfile.Rule {
	return policyfile.Rule{ID: strings.TrimSpace(r.PostFormValue("id")), Action: cmp.Or(r.PostFormValue("action"), "block"),
		Entities: formList(r, "entities"), Lists: formList(r, "lists"), Jurisdictions: formList(r, "jurisdictions"), Names: formList(r, "names"),
		Groups: formList(r, "groups"), Basis: strings.TrimSpace(r.PostFormValue("basis")),
		Effective: strings.TrimSpace(r.PostFormValue("effective")), Warning: strings.TrimSpace(r.PostFormValue("warning")),
		Except: &policyfile.Except{Names: formList(r, "except_names"), Groups: formList(r, "except_groups"), Clients: formList(r, "except_clients"),
			Until: strings.TrimSpace(r.PostFormValue("except_until"))}}
}

// check compiles a draft as the resolver does and `outflow resolve check`
// reports it: every problem with file, line and column.
func (s *Server) check(text string) (*policy.Policy, []string) {
	ix, err := s.catalog()
	if err != nil {
		return nil, []string{"catalog: " + err.Error()}
	}
	p, err := policy.ParseWith(s.cfg.Policy, []byte(text), policy.Options{Catalog: ix})
	if err == nil {
		err = p.RequireRules()
	}
	if err == nil {
		err = p.Check(ix)
	}
	if err != nil {
		var ps catalog.Problems
		if errors.As(err, &ps) {
			out := make([]string, len(ps))
			for i, pr := range ps {
				out[i] = pr.Error()
			}
			return nil, out
		}
		return nil, strings.Split(err.Error(), "\n")
	}
	return p, nil
}

// catalog is the catalog policies are checked against, loaded once.
func (s *Server) catalog() (*catalog.Index, error) {
	s.cat.Lock()
	defer s.cat.Unlock()
	if s.cat.ix == nil || s.now().Sub(s.cat.at) > time.Hour {
		ix, err := s.loadCatalog(s.now())
		if err != nil {
			return nil, err
		}
		s.cat.ix, s.cat.at = ix, s.now()
	}
	return s.cat.ix, nil
}

func (s *Server) policyPreview(w http.ResponseWriter, r *http.Request) {
	if off := s.policyOff(); off != "" {
		s.fail(w, r, http.StatusConflict, off)
		return
	}
	d := &policyData{File: s.cfg.Policy, Admin: true, Draft: true, Base: r.PostFormValue("base"), Comment: r.PostFormValue("comment"),
		Reverts: formReverts(r)}
	text, err := draftFrom(r)
	d.Text = text
	if err != nil {
		d.Error = err.Error()
		s.showPolicy(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	s.showDraft(w, r, d)
}

// formReverts is the change a posted draft undoes, 0 for none.
func formReverts(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.PostFormValue("reverts"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// showDraft shows the draft d.Text against the file as it is: the
// diff, the problems and what the change does.
func (s *Server) showDraft(w http.ResponseWriter, r *http.Request, d *policyData) {
	text := d.Text
	cur, err := s.readPolicy()
	if err != nil {
		s.log.Error("policy: read", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "the policy file cannot be read; see the server's log")
		return
	}
	if d.Base != fileHash(cur) {
		d.Error = "The policy file changed since this draft was started; the diff below is against the file as it is now, and saving replaces it."
		d.Base = fileHash(cur)
	}
	d.Diff = policyfile.Diff(s.cfg.Policy, string(cur), text)
	newP, probs := s.check(text)
	d.Problems = probs
	if newP != nil {
		oldP, _ := s.check(string(cur))
		d.Preview, err = s.preview(r.Context(), oldP, newP)
		if err != nil {
			s.storeFail(w, r, err)
			return
		}
	}
	code := http.StatusOK
	if len(probs) > 0 {
		code = http.StatusUnprocessableEntity
	}
	s.showPolicy(w, r, code, d)
}

func (s *Server) policySave(w http.ResponseWriter, r *http.Request) {
	if off := s.policyOff(); off != "" {
		s.fail(w, r, http.StatusConflict, off)
		return
	}
	d := &policyData{File: s.cfg.Policy, Admin: true, Draft: true, Base: r.PostFormValue("base"),
		Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	text, err := draftFrom(r)
	d.Text = text
	if err == nil && r.PostFormValue("op") != "" {
		err = errors.New("preview a form's change before saving it")
	}
	if err != nil {
		d.Error = err.Error()
		s.showPolicy(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if d.Reverts = formReverts(r); d.Reverts != 0 {
		if pl, _ := s.policyLog(); pl != nil {
			if _, err := pl.PolicyChange(r.Context(), d.Reverts); err != nil {
				d.Error = "The change this draft reverts is not in the history."
				s.showPolicy(w, r, http.StatusUnprocessableEntity, d)
				return
			}
		}
	}
	id, code, msg, probs := s.change(r.Context(), whoFrom(r.Context()).User, d.Base, text, d.Comment, d.Reverts)
	if code != 0 {
		d.Error, d.Problems = msg, probs
		if cur, err := s.readPolicy(); err == nil {
			d.Diff = policyfile.Diff(s.cfg.Policy, string(cur), text)
			// Saving again replaces the file as it is now, whose diff
			// the page shows.
			d.Base = fileHash(cur)
		}
		s.showPolicy(w, r, code, d)
		return
	}
	http.Redirect(w, r, "/policy/history/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// change replaces the policy file with text, if the file is still the
// one hashed base, and records the change. It returns the change's ID,
// or an HTTP status, a message and the policy's problems.
func (s *Server) change(ctx context.Context, user, base, text, comment string, reverts int64) (int64, int, string, []string) {
	if comment == "" {
		return 0, http.StatusUnprocessableEntity, "Say why: a change needs a comment for the history.", nil
	}
	if len(comment) > maxComment {
		return 0, http.StatusUnprocessableEntity, fmt.Sprintf("The comment is longer than %d bytes.", maxComment), nil
	}
	if _, probs := s.check(text); len(probs) > 0 {
		return 0, http.StatusUnprocessableEntity, "The policy has problems; nothing was saved.", probs
	}
	pl, _ := s.policyLog()
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	cur, err := s.readPolicy()
	if err != nil {
		s.log.Error("policy: read", "err", err)
		return 0, http.StatusInternalServerError, "The policy file cannot be read; see the server's log.", nil
	}
	if fileHash(cur) != base {
		return 0, http.StatusConflict, "The policy file changed since this draft was started (another save, or an edit on disk); nothing was saved. The diff below is against the file as it is now.", nil
	}
	if string(cur) == text {
		return 0, http.StatusUnprocessableEntity, "Nothing to save: the draft is the policy as it is.", nil
	}
	if err := writePolicy(s.cfg.Policy, []byte(text)); err != nil {
		s.log.Error("policy: write", "err", err)
		return 0, http.StatusInternalServerError, "The policy file could not be written; it is unchanged. See the server's log.", nil
	}
	c := &store.PolicyChange{Time: s.now().UTC(), User: user, Comment: comment, File: s.cfg.Policy,
		Before: string(cur), After: text, Diff: policyfile.Diff(s.cfg.Policy, string(cur), text), Reverts: reverts}
	if err := pl.WritePolicyChange(ctx, c); err != nil {
		// Unrecorded, the change is undone: the history must not miss
		// a change in force.
		s.log.Error("policy: history not written; restoring the file", "err", err)
		if rerr := writePolicy(s.cfg.Policy, cur); rerr != nil {
			s.log.Error("policy: restoring the file failed: the new policy is in force without its history entry", "err", rerr)
		}
		return 0, http.StatusInternalServerError, "The change could not be recorded in the store's history, so it was undone. See the server's log.", nil
	}
	s.log.Info("policy changed", "user", user, "change", c.ID, "file", s.cfg.Policy, "reverts", reverts)
	return c.ID, 0, "", nil
}

// writePolicy replaces the file atomically: a resolver's watch sees the
// old file or the new one, never half of it.
func writePolicy(path string, b []byte) error {
	return outfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// --- history ---

type historyData struct {
	Changes []store.PolicyChange
	Off     string
}

// policyChanges is every change of the policy history, whatever the
// traffic's period: the history is not cut at the newest data, as the
// traffic pages are. When the store keeps none, or fails, it answers the
// request itself and returns false.
func (s *Server) policyChanges(w http.ResponseWriter, r *http.Request) ([]store.PolicyChange, bool) {
	pl, ok := s.policyLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this store keeps no policy history")
		return nil, false
	}
	cs, err := pl.PolicyChanges(r.Context(), store.Filter{Until: s.now().Add(time.Minute), Limit: store.MaxLimit})
	if err != nil {
		s.storeFail(w, r, err)
		return nil, false
	}
	return cs, true
}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "policy", "Policy history")
	cs, ok := s.policyChanges(w, r)
	if !ok {
		return
	}
	v.Data = &historyData{Changes: cs}
	s.render(w, r, http.StatusOK, "history", v)
}

type changeData struct {
	C        *store.PolicyChange
	Admin    bool
	Current  bool   // the file is still this change's result
	Base     string // hash of the file now
	Error    string
	Comment  string
	Problems []string
	Conflict bool // the revert does not apply: offer the restore
}

func (s *Server) changeID(w http.ResponseWriter, r *http.Request) (store.PolicyLog, *store.PolicyChange, bool) {
	pl, ok := s.policyLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this store keeps no policy history")
		return nil, nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.fail(w, r, http.StatusBadRequest, "change id: want a number")
		return nil, nil, false
	}
	c, err := pl.PolicyChange(r.Context(), id)
	if err != nil {
		s.storeFail(w, r, err)
		return nil, nil, false
	}
	return pl, c, true
}

func (s *Server) changePage(w http.ResponseWriter, r *http.Request) {
	_, c, ok := s.changeID(w, r)
	if !ok {
		return
	}
	s.showChange(w, r, http.StatusOK, &changeData{C: c})
}

func (s *Server) showChange(w http.ResponseWriter, r *http.Request, code int, d *changeData) {
	d.Admin = whoFrom(r.Context()).Admin() && s.policyOff() == ""
	if cur, err := s.readPolicy(); err == nil && s.cfg.Policy == d.C.File {
		d.Current, d.Base = string(cur) == d.C.After, fileHash(cur)
	}
	v := s.newView(r, "policy", "Policy change "+strconv.FormatInt(d.C.ID, 10))
	v.Data = d
	s.render(w, r, code, "change", v)
}

// policyRevert undoes change N in the policy as it is now, leaving the
// later changes in force: the reverse of N's diff applied to the file as
// a three-way merge (policyfile.Revert). The result is a draft, shown
// with its diff, problems and preview as any other, and saved with a
// comment through /policy/save, recorded as reverting N. When a later
// change touched the same lines the revert is refused, naming that
// change, and the page offers the restore instead.
func (s *Server) policyRevert(w http.ResponseWriter, r *http.Request) {
	c, cur, ok := s.revertable(w, r)
	if !ok {
		return
	}
	text, err := policyfile.Revert(c.Before, c.After, string(cur))
	if err != nil {
		d := &changeData{C: c, Comment: strings.TrimSpace(r.PostFormValue("comment")), Conflict: true}
		d.Error = fmt.Sprintf("Change %d cannot be reverted on its own: %s. Edit the policy, or restore the policy as it was before change %d (which undoes the later changes too).",
			c.ID, s.conflictWith(r.Context(), c), c.ID)
		s.showChange(w, r, http.StatusConflict, d)
		return
	}
	s.showDraft(w, r, &policyData{File: s.cfg.Policy, Admin: true, Draft: true, Base: fileHash(cur), Text: text, Reverts: c.ID,
		Comment: strings.TrimSpace(r.PostFormValue("comment")),
		Note:    fmt.Sprintf("The draft reverts change %d (%s) and keeps the changes made since. Check the preview, then save it with a comment.", c.ID, c.Comment)})
}

// policyRestore is the explicit way past a revert's conflict: the draft
// is the policy as it was before change N, undoing N and every change
// after it.
func (s *Server) policyRestore(w http.ResponseWriter, r *http.Request) {
	c, cur, ok := s.revertable(w, r)
	if !ok {
		return
	}
	s.showDraft(w, r, &policyData{File: s.cfg.Policy, Admin: true, Draft: true, Base: fileHash(cur), Text: c.Before, Reverts: c.ID,
		Comment: strings.TrimSpace(r.PostFormValue("comment")),
		Note:    fmt.Sprintf("The draft is the policy as it was before change %d: it undoes that change and every change after it. Check the diff, then save it with a comment.", c.ID)})
}

// revertable reads change N and the file it can be undone in; when it
// cannot, it answers the request itself and returns false.
func (s *Server) revertable(w http.ResponseWriter, r *http.Request) (*store.PolicyChange, []byte, bool) {
	if off := s.policyOff(); off != "" {
		s.fail(w, r, http.StatusConflict, off)
		return nil, nil, false
	}
	_, c, ok := s.changeID(w, r)
	if !ok {
		return nil, nil, false
	}
	if c.File != s.cfg.Policy {
		s.showChange(w, r, http.StatusConflict, &changeData{C: c, Error: "This change was made to another policy file (" + c.File + ")."})
		return nil, nil, false
	}
	cur, err := s.readPolicy()
	if err != nil {
		s.log.Error("policy: read", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "the policy file cannot be read; see the server's log")
		return nil, nil, false
	}
	return c, cur, true
}

// conflictWith names what keeps change c from being reverted: the first
// later change of the same file after which the revert no longer
// applies, or an edit made outside the dashboard.
func (s *Server) conflictWith(ctx context.Context, c *store.PolicyChange) string {
	pl, _ := s.policyLog()
	cs, err := pl.PolicyChanges(ctx, store.Filter{Until: s.now().Add(time.Minute), Limit: store.MaxLimit})
	if err != nil {
		s.log.Error("policy: history", "err", err)
		return "later changes touch the same lines"
	}
	slices.SortFunc(cs, func(a, b store.PolicyChange) int { return cmp.Compare(a.ID, b.ID) })
	for _, l := range cs {
		if l.ID <= c.ID || l.File != c.File {
			continue
		}
		full, err := pl.PolicyChange(ctx, l.ID)
		if err != nil {
			continue
		}
		if _, err := policyfile.Revert(c.Before, c.After, full.After); err != nil {
			return fmt.Sprintf("change %d (%s, %s UTC: %q) changed the same lines since", l.ID, l.User, l.Time.UTC().Format("2006-01-02 15:04"), l.Comment)
		}
	}
	return "the file was edited outside the dashboard since, on the same lines"
}

// --- preview ---

// preview is what a draft changes for the devices and names the store
// saw in the last week.
type preview struct {
	Since, Until time.Time
	Pairs        int // device and name pairs looked at
	Rows         []previewRow
	Truncated    bool // the store held more detail rows than were read
}

type previewRow struct {
	Name     string
	Entity   string
	Before   string // action under the file as it is
	After    string // under the draft
	Rule     string
	Deadline time.Time
	Devices  []string
}

// preview decides every device and name pair of the last week's queries
// and flows under the running policy and the draft, and lists the names
// whose decision changes, with the devices it changes for.
func (s *Server) preview(ctx context.Context, oldP, newP *policy.Policy) (*preview, error) {
	f, p, err := s.filter(ctx, url.Values{"period": {"week"}}, "week", previewRows)
	if err != nil {
		return nil, err
	}
	f.Limit = previewRows
	qs, err := s.r.Queries(ctx, f)
	if err != nil {
		return nil, err
	}
	fs, err := s.r.Flows(ctx, f)
	if err != nil {
		return nil, err
	}
	ix, err := s.catalog()
	if err != nil {
		return nil, err
	}
	at := attribute.New(ix)
	type pair struct{ dev, name string }
	seen := map[pair]bool{}
	for _, q := range qs {
		seen[pair{q.Client, q.Name}] = true
	}
	for _, fl := range fs {
		if fl.Name != "" {
			seen[pair{fl.Device, fl.Name}] = true
		}
	}
	out := &preview{Since: p.Since, Until: p.Until, Pairs: len(seen), Truncated: len(qs) == previewRows || len(fs) == previewRows}
	now := s.now()
	type key struct{ name, before, after, rule string }
	rows := map[key]*previewRow{}
	attrs := map[string]attribute.Attribution{}
	for pr := range seen {
		a, ok := attrs[pr.name]
		if !ok {
			a = at.Name(attribute.DNSQuery, pr.name)
			attrs[pr.name] = a
		}
		c := deviceClient(pr.dev)
		before := policy.Decision{}
		if oldP != nil {
			before = oldP.Decide(c, a, pr.name, now)
		}
		after := newP.Decide(c, a, pr.name, now)
		if before.Action == after.Action && ruleID(before) == ruleID(after) {
			continue
		}
		k := key{pr.name, before.Action.String(), after.Action.String(), cmp.Or(ruleID(after), ruleID(before))}
		row := rows[k]
		if row == nil {
			row = &previewRow{Name: pr.name, Before: k.before, After: k.after, Rule: k.rule, Deadline: after.Deadline}
			if a.Entity != nil {
				row.Entity = a.Entity.ID
			}
			rows[k] = row
		}
		row.Devices = append(row.Devices, pr.dev)
	}
	for _, row := range rows {
		slices.Sort(row.Devices)
		out.Rows = append(out.Rows, *row)
	}
	slices.SortFunc(out.Rows, func(a, b previewRow) int {
		return cmp.Or(-cmp.Compare(actionRank(a.After), actionRank(b.After)), -cmp.Compare(len(a.Devices), len(b.Devices)), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

func ruleID(d policy.Decision) string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.ID
}

func actionRank(a string) int {
	switch a {
	case "block":
		return 3
	case "due":
		return 2
	case "monitor":
		return 1
	}
	return 0
}

// deviceClient is the resolver's view of a device the store names:
// its address (after the site, in SITE/ADDRESS), when it is one.
func deviceClient(id string) policy.Client {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	a, err := netip.ParseAddr(id)
	if err != nil {
		return policy.Client{}
	}
	return policy.Client{Addr: a.Unmap()}
}
