package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/outflow-dev/outflow/internal/web/auth"
)

// csp allows the page's own files and nothing else: no inline script, no
// inline style, no other origin, no framing, forms posted only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every response.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer browsers send
		// "Origin: null" with form posts, and sameOrigin needs the real one.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if s.cfg.TLS.Enabled() {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// hostCheck refuses requests whose Host is not this machine while the
// dashboard runs without users on loopback: otherwise a web page could
// point a name of its own at 127.0.0.1 (DNS rebinding) and read the
// dashboard from the user's browser.
func (s *Server) hostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.Enabled() {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !IsLoopback(host) {
				s.fail(w, r, http.StatusMisdirectedRequest, "this dashboard answers only to localhost, 127.0.0.1 or [::1]")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// who is the authenticated caller of a request.
type who struct {
	User    string // a session's user; "" for a token or loopback without users
	Token   string // the API token's name
	Session string // the session id (the CSRF binding)
	Role    auth.Role
	Local   bool // loopback without users: every read is allowed, no change
}

// Admin says whether the caller may change the policy and upload apps:
// a signed-in admin. Loopback without users may not: a change needs a
// name for the history.
func (w who) Admin() bool { return w.Session != "" && w.Role == auth.Admin }

type ctxKey struct{}

func whoFrom(ctx context.Context) who {
	w, _ := ctx.Value(ctxKey{}).(who)
	return w
}

// maxHops bounds the X-Forwarded-For entries looked at.
const maxHops = 32

// clientAddr is the address logins are counted against: the peer's,
// or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not a trusted proxy. The header is read from
// the right, since a proxy appends the address it received from and only
// the entries after the last untrusted one were written by trusted
// proxies; what the client wrote itself sits further left. An entry that
// is not an address stops the walk at the last proxy.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv6Unspecified()
	}
	addr := ap.Addr().Unmap()
	if !s.trustedProxy(addr) {
		return addr
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i, n := len(hops)-1, 0; i >= 0 && n < maxHops; i, n = i-1, n+1 {
		a, err := parseHop(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		addr = a
		if !s.trustedProxy(a) {
			return a
		}
	}
	return addr
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads an X-Forwarded-For entry: an address, or an address and
// port as some proxies write it.
func parseHop(v string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Unmap(), nil
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

// authn finds the caller: the session cookie, or a bearer token (API
// reads only). Pages and the API refuse anyone else, except on loopback
// without users.
func (s *Server) authn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id who
		switch {
		case !s.auth.Enabled():
			id.Local = true
		default:
			if c, err := r.Cookie(s.sessionCookie()); err == nil {
				if sess, ok := s.auth.Session(c.Value); ok {
					id.User, id.Session, id.Role = sess.User, c.Value, sess.Role
				}
			}
			if h := s.auth.ProxyHeader(); h != "" {
				if !s.proxyAuth(w, r, h, &id) {
					return
				}
			}
			if tok, ok := bearer(r); ok && id.User == "" {
				name, valid := s.auth.TokenName(tok)
				if !valid {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					s.fail(w, r, http.StatusUnauthorized, "invalid token")
					return
				}
				id.Token = name
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

// proxyAuth signs in the user a trusted reverse proxy names in header h,
// with a session of its own so that forms carry CSRF tokens as after a
// password login. The header is believed only when the connection's peer
// (not an X-Forwarded-For entry, which anyone writes) is a trusted proxy.
// It returns false when it has answered the request.
func (s *Server) proxyAuth(w http.ResponseWriter, r *http.Request, h string, id *who) bool {
	name := r.Header.Get(h)
	if name == "" {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trustedProxy(ap.Addr().Unmap()) {
		return true // ignored: not from the proxy
	}
	if id.User == name {
		return true
	}
	sid, err := s.auth.ProxyLogin(name)
	if err != nil {
		s.fail(w, r, http.StatusForbidden, "the proxy named an unusable user")
		return false
	}
	sess, _ := s.auth.Session(sid)
	s.log.Info("login through the proxy", "user", name, "role", sess.Role)
	s.setCookie(w, s.sessionCookie(), sid, 0)
	// A cookie of another user's session is not this request's.
	id.User, id.Session, id.Role, id.Token = sess.User, sid, sess.Role, ""
	return true
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// access is how a route may be reached.
type access int

const (
	public  access = iota // login page, assets
	reader                // pages (a session) and the API (a session or a token)
	changer               // POST: a session and its CSRF token
	admin                 // POST: an admin's session and its CSRF token
)

// guard enforces a route's access.
func (s *Server) guard(a access, api bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := whoFrom(r.Context())
		switch a {
		case public:
		case reader:
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				s.fail(w, r, http.StatusMethodNotAllowed, "read-only")
				return
			}
			if id.Local || id.User != "" || (api && id.Token != "") {
				break
			}
			if api || id.Token != "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="outflow"`)
				s.fail(w, r, http.StatusUnauthorized, "authentication required")
				return
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case changer, admin:
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST")
				s.fail(w, r, http.StatusMethodNotAllowed, "POST only")
				return
			}
			if id.Token != "" {
				s.fail(w, r, http.StatusForbidden, "API tokens are read-only")
				return
			}
			if a == admin && id.Session == "" {
				if !s.auth.Enabled() {
					s.fail(w, r, http.StatusForbidden, "no users are configured: changes need an admin (outflow serve --init-admin NAME)")
					return
				}
				s.fail(w, r, http.StatusUnauthorized, "sign in first")
				return
			}
			if !s.sameOrigin(r) {
				s.fail(w, r, http.StatusForbidden, "cross-origin request refused")
				return
			}
			binding := s.csrfBinding(r, id)
			if !s.checkCSRF(w, r, binding) {
				s.fail(w, r, http.StatusForbidden, "missing or invalid CSRF token; reload the page")
				return
			}
			if a == admin && !id.Admin() {
				s.fail(w, r, http.StatusForbidden, "only an admin may change this")
				return
			}
		}
		h(w, r)
	}
}

// checkCSRF checks the request's CSRF token: the X-CSRF-Token header, or
// the form's csrf field. A multipart form (an upload) is not read here:
// its token must come in the header or in the query (?csrf=), so that a
// body of megabytes is never parsed before the caller is known.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, binding string) bool {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return s.auth.CheckCSRF(binding, r.Header.Get("X-CSRF-Token")) || s.auth.CheckCSRF(binding, r.URL.Query().Get("csrf"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return s.auth.CheckCSRF(binding, r.Header.Get("X-CSRF-Token")) || s.auth.CheckCSRF(binding, r.PostFormValue("csrf"))
}

// maxForm bounds a posted form: a policy file in a textarea, at most.
const maxForm = 1 << 20

// sameOrigin refuses a POST whose Origin names another site, or is
// "null" (a sandboxed frame, a data: URL). The CSRF token is the real
// check; this one costs nothing. Requests without Origin (scripts, old
// browsers) are left to the token.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	o = strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://")
	return strings.EqualFold(o, r.Host)
}

// csrfBinding is what a request's CSRF token is bound to: the session, or
// the pre-login cookie.
func (s *Server) csrfBinding(r *http.Request, id who) string {
	if id.Session != "" {
		return "s:" + id.Session
	}
	if c, err := r.Cookie(s.preCookie()); err == nil && c.Value != "" {
		return "p:" + c.Value
	}
	return ""
}

func (s *Server) secure() bool { return s.cfg.TLS.Enabled() || s.cfg.SecureCookies }

// Cookie names: with Secure cookies, the __Host- prefix also pins them to
// this host and path.
func (s *Server) sessionCookie() string {
	if s.secure() {
		return "__Host-outflow-session"
	}
	return "outflow-session"
}

func (s *Server) preCookie() string {
	if s.secure() {
		return "__Host-outflow-pre"
	}
	return "outflow-pre"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: s.secure(), HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}
