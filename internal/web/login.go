package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/web/auth"
)

type loginData struct {
	Next  string
	User  string
	Error string
}

// safeNext keeps a post-login redirect on this site: a path, never
// "//host" or a scheme.
func safeNext(n string) string {
	if n == "" || !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") || strings.ContainsAny(n, "\r\n") {
		return "/"
	}
	return n
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if !s.auth.Enabled() || whoFrom(r.Context()).User != "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the form with a CSRF token bound to the pre-login
// cookie, setting that cookie when the browser has none.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	pre := ""
	if c, err := r.Cookie(s.preCookie()); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		pre = c.Value
	} else {
		pre = auth.NewID()
		s.setCookie(w, s.preCookie(), pre, 0)
	}
	v := s.newView(r, "login", "Sign in")
	v.CSRF = s.auth.CSRFToken("p:" + pre)
	v.Data = d
	s.render(w, r, code, "login", v)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.auth.Enabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	user, pass := r.PostFormValue("user"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	d := loginData{Next: next, User: user}
	if len(user) > 64 || len(pass) > 1024 {
		d.Error = "Wrong user name or password."
		s.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	client := s.clientAddr(r)
	sid, err := s.auth.Login(ctx, client, user, pass)
	var lim *auth.LimitedError
	switch {
	case errors.As(err, &lim):
		secs := int(lim.RetryAfter.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.Warn("login refused: too many wrong passwords", "client", client)
		d.Error = "Too many wrong passwords. Try again in " + strconv.Itoa(secs) + " seconds."
		s.showLogin(w, r, http.StatusTooManyRequests, d)
		return
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", "2")
		d.Error = "The server is busy; try again."
		s.showLogin(w, r, http.StatusServiceUnavailable, d)
		return
	case err != nil:
		// The attempted name is not logged: people type passwords there.
		s.log.Warn("login failed", "client", client)
		d.Error = "Wrong user name or password."
		s.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	s.log.Info("login", "user", user, "client", client)
	s.setCookie(w, s.sessionCookie(), sid, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if id := whoFrom(r.Context()); id.Session != "" {
		s.auth.Logout(id.Session)
		s.log.Info("logout", "user", id.User)
	}
	s.setCookie(w, s.sessionCookie(), "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
