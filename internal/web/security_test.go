package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/web/auth"
)

func TestConfigValidate(t *testing.T) {
	hash := cheapHash(t, "pw")
	tests := []struct {
		name, listen string
		users        bool
		cert, key    string
		want         string // "" for valid
	}{
		{"default", DefaultListen, false, "", "", ""},
		{"ipv6 loopback", "[::1]:8080", false, "", "", ""},
		{"localhost", "localhost:8080", false, "", "", ""},
		{"other loopback", "127.0.0.2:8080", false, "", "", ""},
		{"all addresses without users", "0.0.0.0:8080", false, "", "", "requires users"},
		{"empty host without users", ":8080", false, "", "", "requires users"},
		{"lan address without users", "192.168.50.2:8080", false, "", "", "requires users"},
		{"name without users", "dash.example.org:443", false, "", "", "requires users"},
		{"all addresses with users", "0.0.0.0:8080", true, "", "", ""},
		{"no port", "127.0.0.1", false, "", "", "missing port"},
		{"cert without key", DefaultListen, false, "c.pem", "", "both cert and key"},
		{"tls", DefaultListen, false, "c.pem", "k.pem", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Listen, c.TLS = tc.listen, TLS{Cert: tc.cert, Key: tc.key}
			if tc.users {
				c.Auth.Users = []auth.User{{Name: "ana", PasswordHash: hash}}
			}
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
			if tc.want == "requires users" && !errors.Is(err, ErrNeedUsers) {
				t.Fatalf("error %v is not ErrNeedUsers", err)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	hash := cheapHash(t, "pw")
	good := "listen: 0.0.0.0:8443\ntls:\n  cert: /c.pem\n  key: /k.pem\nauth:\n  users:\n    - name: ana\n      password_hash: '" + hash +
		"'\n  session_idle: 20m\nstore:\n  path: /var/lib/outflow/outflow.db\n"
	c, err := ParseConfig("serve.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:8443" || c.Auth.SessionIdle != 20*time.Minute || c.Auth.SessionTTL != 12*time.Hour ||
		c.Store.Path != "/var/lib/outflow/outflow.db" || !c.TLS.Enabled() || c.Auth.Users[0].Name != "ana" {
		t.Fatalf("parsed %+v", c)
	}
	tests := []struct{ name, in, want string }{
		{"unknown key", "listen: 127.0.0.1:1\nlisten_tls: yes\n", `serve.yaml:2:1: unknown key "listen_tls" at top level; allowed: auth, catalog_dirs, listen, policy, secure_cookies, store, tls, trusted_proxies`},
		{"nested unknown key", "auth:\n  users: []\n  password: x\n", `serve.yaml:3:3: unknown key "password" in auth; allowed: client_fail_burst,`},
		{"plain password", "listen: 0.0.0.0:1\nauth:\n  users:\n    - name: ana\n      password_hash: hunter2\n", "neither argon2id"},
		{"open without users", "listen: 0.0.0.0:1\n", "requires users"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("serve.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseConfig = %v, want %q", err, tc.want)
			}
		})
	}
	// A configuration file others may write is refused.
	p := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(p, []byte("listen: 127.0.0.1:1\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o666)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("LoadConfig of a 0666 file = %v", err)
	}
	os.Chmod(p, 0o600)
	if _, err := LoadConfig(p); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesOpenListen(t *testing.T) {
	c := DefaultConfig()
	c.Listen = "0.0.0.0:8080"
	if _, err := New(c, Deps{Reader: testStore(t)}); !errors.Is(err, ErrNeedUsers) {
		t.Fatalf("New = %v, want ErrNeedUsers", err)
	}
}

func TestSecurityHeaders(t *testing.T) {
	cfg, _ := withUsers(t)
	s := newTestServer(t, cfg)
	local := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		name string
		s    *testServer
		r    req
	}{
		{"login page", s, req{target: "/login"}},
		{"redirect to login", s, req{target: "/devices"}},
		{"api refused", s, req{target: "/api/overview"}},
		{"static", s, req{target: "/static/app.js"}},
		{"overview", local, req{target: "/"}},
		{"api", local, req{target: "/api/devices"}},
		{"not found", local, req{target: "/nope"}},
		{"bad host", local, req{target: "/", host: "rebind.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.s.do(t, tc.r)
			h := resp.Header
			for k, want := range map[string]string{
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
				"Content-Security-Policy": csp,
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self';") ||
				strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
				t.Errorf("CSP allows inline script: %s", h.Get("Content-Security-Policy"))
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS without TLS")
			}
		})
	}
}

func TestUnauthenticatedRefusedOffLoopback(t *testing.T) {
	cfg, tok := withUsers(t)
	s := newTestServer(t, cfg)
	pages := []string{"/", "/devices", "/devices/192.168.50.10", "/flows", "/names", "/queries", "/enforcement", "/apps", "/apps/1", "/apps/uploads", "/apps/uploads/1", "/compliance", "/search?q=tiktok"}
	for _, p := range pages {
		t.Run(p, func(t *testing.T) {
			resp := s.do(t, req{target: p})
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Fatalf("status %d, Location %q; want a redirect to the login", resp.StatusCode, resp.Header.Get("Location"))
			}
			body := readBody(t, resp)
			if strings.Contains(body, "ana-laptop") || strings.Contains(body, "TikTok") {
				t.Fatal("refused response leaks data")
			}
			// A token does not open pages.
			resp = s.do(t, req{target: p, header: map[string]string{"Authorization": "Bearer " + tok}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("page with a token: status %d, want 401", resp.StatusCode)
			}
		})
	}
	for _, a := range s.apiRoutes() {
		p := strings.ReplaceAll(strings.ReplaceAll(a.path, "{id}", "1"), "/devices/1", "/devices/192.168.50.10")
		t.Run(p, func(t *testing.T) {
			resp := s.do(t, req{target: p})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("status %d; want 401 with WWW-Authenticate", resp.StatusCode)
			}
			if strings.Contains(body, "192.168") {
				t.Fatal("refused response leaks data")
			}
			want := http.StatusOK
			if p == "/api/uploads/1" {
				want = http.StatusNotFound // past the token's check: this store holds no upload
			}
			resp = s.do(t, req{target: p, header: map[string]string{"Authorization": "Bearer " + tok}})
			if resp.StatusCode != want {
				t.Fatalf("with the token: status %d, want %d", resp.StatusCode, want)
			}
			resp = s.do(t, req{target: p, header: map[string]string{"Authorization": "Bearer " + tok + "x"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("with a wrong token: status %d, want 401", resp.StatusCode)
			}
		})
	}
	// Health and assets stay public: they hold nothing.
	for _, p := range []string{"/healthz", "/static/app.css", "/login"} {
		if resp := s.do(t, req{target: p}); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
}

func TestTokensAreReadOnly(t *testing.T) {
	cfg, tok := withUsers(t)
	s := newTestServer(t, cfg)
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/api/devices", "/api/overview", "/logout", "/login"} {
			t.Run(m+" "+p, func(t *testing.T) {
				resp := s.do(t, req{method: m, target: p, header: bearer, form: url.Values{}})
				if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusMethodNotAllowed {
					t.Fatalf("status %d, want 403 or 405", resp.StatusCode)
				}
			})
		}
	}
}

// login signs in through the form, as a browser does, and returns the
// session cookie.
func login(t *testing.T, s *testServer, from, pw string) (*http.Response, *http.Cookie) {
	t.Helper()
	resp := s.do(t, req{target: "/login", from: from})
	pre := cookie(resp, s.preCookie())
	body := readBody(t, resp)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if pre == nil || m == nil {
		t.Fatalf("login page without pre-login cookie or CSRF token (cookie %v)", pre)
	}
	resp = s.do(t, req{method: http.MethodPost, target: "/login", from: from, cookies: []*http.Cookie{pre},
		form: url.Values{"user": {"ana"}, "password": {pw}, "csrf": {m[1]}, "next": {"/enforcement"}}})
	return resp, cookie(resp, s.sessionCookie())
}

func TestLoginSessionAndCSRF(t *testing.T) {
	cfg, _ := withUsers(t)
	s := newTestServer(t, cfg)

	// Without the CSRF token, the right password is not even checked.
	resp := s.do(t, req{target: "/login"})
	pre := cookie(resp, s.preCookie())
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		csrf    string
	}{
		{"no token", []*http.Cookie{pre}, ""},
		{"token of another cookie", []*http.Cookie{{Name: s.preCookie(), Value: strings.Repeat("A", 43)}}, s.auth.CSRFToken("p:" + pre.Value)},
		{"no cookie", nil, s.auth.CSRFToken("p:" + pre.Value)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(t, req{method: http.MethodPost, target: "/login", cookies: tc.cookies,
				form: url.Values{"user": {"ana"}, "password": {testPassword}, "csrf": {tc.csrf}}})
			if resp.StatusCode != http.StatusForbidden || cookie(resp, s.sessionCookie()) != nil {
				t.Fatalf("status %d; want 403 and no session", resp.StatusCode)
			}
		})
	}

	resp, sess := login(t, s, "192.0.2.50:1000", testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/enforcement" || sess == nil {
		t.Fatalf("login: status %d, Location %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), sess)
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" || sess.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ (not Secure without TLS)", sess)
	}
	resp = s.do(t, req{target: "/devices", cookies: []*http.Cookie{sess}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "ana-laptop") {
		t.Fatalf("devices with the session: status %d", resp.StatusCode)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("page without the logout form's CSRF token")
	}
	// Sessions also read the API.
	if resp := s.do(t, req{target: "/api/devices", cookies: []*http.Cookie{sess}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("api with the session: status %d", resp.StatusCode)
	}

	// Logout is a change: it needs the session's token, from this origin.
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, ""},
		{"pre-login token", url.Values{"csrf": {s.auth.CSRFToken("p:" + pre.Value)}}, ""},
		{"other origin", url.Values{"csrf": {csrf[1]}}, "https://evil.example"},
		{"null origin", url.Values{"csrf": {csrf[1]}}, "null"},
	} {
		t.Run("logout "+tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			resp := s.do(t, req{method: http.MethodPost, target: "/logout", cookies: []*http.Cookie{sess}, form: tc.form, header: h})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	resp = s.do(t, req{method: http.MethodPost, target: "/logout", cookies: []*http.Cookie{sess},
		form: url.Values{"csrf": {csrf[1]}}, header: map[string]string{"Origin": "http://127.0.0.1:8080"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: status %d", resp.StatusCode)
	}
	if resp := s.do(t, req{target: "/devices", cookies: []*http.Cookie{sess}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: status %d, want a redirect to the login", resp.StatusCode)
	}
}

func TestWrongPasswordRateLimited(t *testing.T) {
	cfg, _ := withUsers(t)
	s := newTestServer(t, cfg)
	const from = "198.51.100.20:5555"
	for i := range cfg.Auth.FailBurst {
		resp, sess := login(t, s, from, "wrong guess")
		if resp.StatusCode != http.StatusUnauthorized || sess != nil {
			t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
		}
	}
	resp, sess := login(t, s, from, testPassword)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || sess != nil || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "Too many wrong passwords") {
		t.Fatalf("right password after the burst: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The user is not locked out everywhere: the right password from
	// another address signs in.
	if resp, sess := login(t, s, "203.0.113.9:1", testPassword); resp.StatusCode != http.StatusSeeOther || sess == nil {
		t.Fatalf("right password from another address: status %d, want 303 and a session", resp.StatusCode)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "too many wrong passwords") {
		t.Error("rate-limited logins are not logged")
	}
}

// TestLockoutIsPerAddress is the regression test of issue 10 (9) over the
// real server: five wrong passwords from 127.0.0.2 lock ana there, not
// from 127.0.0.1. Both are loopback addresses on Linux.
func TestLockoutIsPerAddress(t *testing.T) {
	cfg, _ := withUsers(t)
	cfg.Listen = "127.0.0.1:0"
	s := newTestServer(t, cfg)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr().String()
	client := func(src string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		return &http.Client{
			Transport:     &http.Transport{DialContext: d.DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       10 * time.Second,
		}
	}
	attacker, user := client("127.0.0.2"), client("127.0.0.1")
	if resp, err := attacker.Get(base + "/healthz"); err != nil {
		t.Skipf("cannot connect from 127.0.0.2: %v", err)
	} else {
		resp.Body.Close()
	}
	try := func(c *http.Client, pw string) *http.Response {
		t.Helper()
		resp, err := c.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pre := cookie(resp, s.preCookie())
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		if pre == nil || m == nil {
			t.Fatal("login page without pre-login cookie or CSRF token")
		}
		form := url.Values{"user": {"ana"}, "password": {pw}, "csrf": {string(m[1])}}
		r, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(pre)
		resp, err = c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 5 {
		if resp := try(attacker, "wrong guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d from 127.0.0.2: status %d, want 401", i, resp.StatusCode)
		}
	}
	if resp := try(user, testPassword); resp.StatusCode != http.StatusSeeOther || cookie(resp, s.sessionCookie()) == nil {
		t.Fatalf("right password from 127.0.0.1: status %d, want 303 and a session", resp.StatusCode)
	}
	if resp := try(attacker, testPassword); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("127.0.0.2 after five wrong passwords: status %d, want 429 with Retry-After", resp.StatusCode)
	}
	if !strings.Contains(s.logs.String(), "client=127.0.0.2") {
		t.Errorf("the refusal does not name the attacking address:\n%s", s.logs.String())
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		peer    string
		xff     []string
		want    string
	}{
		{"no proxy configured: header ignored", nil, "198.51.100.7:4000", []string{"192.0.2.1"}, "198.51.100.7"},
		{"untrusted peer: header ignored", []string{"10.0.0.5"}, "198.51.100.7:4000", []string{"192.0.2.1"}, "198.51.100.7"},
		{"trusted proxy", []string{"10.0.0.5"}, "10.0.0.5:4000", []string{"192.0.2.1"}, "192.0.2.1"},
		{"client-written entries on the left are skipped", []string{"10.0.0.0/24"}, "10.0.0.5:4000",
			[]string{"6.6.6.6, 192.0.2.1, 10.0.0.9"}, "192.0.2.1"},
		{"several headers", []string{"10.0.0.0/24"}, "10.0.0.5:4000", []string{"6.6.6.6", "192.0.2.1"}, "192.0.2.1"},
		{"ipv6 client, port written", []string{"::1"}, "[::1]:4000", []string{"[2001:db8::7]:51000"}, "2001:db8::7"},
		{"mapped peer", []string{"10.0.0.5"}, "[::ffff:10.0.0.5]:4000", []string{"192.0.2.1"}, "192.0.2.1"},
		{"garbage stops at the proxy", []string{"10.0.0.5"}, "10.0.0.5:4000", []string{"192.0.2.1, <script>"}, "10.0.0.5"},
		{"no header", []string{"10.0.0.5"}, "10.0.0.5:4000", nil, "10.0.0.5"},
		{"only proxies", []string{"10.0.0.0/8"}, "10.0.0.5:4000", []string{"10.1.1.1"}, "10.1.1.1"},
		{"bad peer", nil, "pipe", nil, "::"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TrustedProxies = tc.proxies
			s, err := New(cfg, Deps{Reader: testStore(t)})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := s.clientAddr(r).String(); got != tc.want {
				t.Fatalf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
	cfg := DefaultConfig()
	cfg.TrustedProxies = []string{"10.0.0.5", "proxy.example"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `trusted_proxies[1]: "proxy.example"`) {
		t.Fatalf("Validate = %v, want the bad entry named", err)
	}
}

func TestNothingSensitiveLogged(t *testing.T) {
	cfg, tok := withUsers(t)
	s := newTestServer(t, cfg)
	login(t, s, "192.0.2.1:1", "my secret guess")
	_, sess := login(t, s, "192.0.2.1:1", testPassword)
	s.do(t, req{target: "/search?q=private-term", cookies: []*http.Cookie{sess}})
	s.do(t, req{target: "/api/devices?name=secret-name.example", header: map[string]string{"Authorization": "Bearer " + tok}})
	s.do(t, req{target: "/api/devices", header: map[string]string{"Authorization": "Bearer " + tok + "bad"}})
	logs := s.logs.String()
	if !strings.Contains(logs, "path=/search") || !strings.Contains(logs, "login failed") {
		t.Fatalf("the log lacks requests or the failed login:\n%s", logs)
	}
	for _, secret := range []string{testPassword, "my secret guess", tok, sess.Value, "private-term", "secret-name", "csrf"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
}

func TestHostCheckWithoutUsers(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:8080", http.StatusOK}, {"localhost:8080", http.StatusOK}, {"[::1]:8080", http.StatusOK}, {"localhost", http.StatusOK},
		{"rebind.example:8080", http.StatusMisdirectedRequest}, {"192.168.50.2:8080", http.StatusMisdirectedRequest}, {"", http.StatusMisdirectedRequest},
	} {
		t.Run(tc.host, func(t *testing.T) {
			h := tc.host
			if h == "" {
				h = " "
			}
			if resp := s.do(t, req{target: "/api/info", host: h}); resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/devices?x=1": "/devices?x=1", "": "/", "//evil.example/": "/", "https://evil.example": "/",
		"/\\evil.example": "/", "devices": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "outflow test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	cfg, _ := withUsers(t)
	cfg.Listen = "127.0.0.1:0"
	var pool *x509.CertPool
	cfg.TLS.Cert, cfg.TLS.Key, pool = selfSigned(t)
	s := newTestServer(t, cfg)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	base := "https://" + s.Addr().String()
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no TLS or no HSTS")
	}
	pre := cookie(resp, "__Host-outflow-pre")
	if pre == nil || !pre.Secure || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode {
		t.Fatalf("pre-login cookie over TLS: %+v", pre)
	}
	// Plain HTTP to the TLS port fails.
	if resp, err := client.Get("http://" + s.Addr().String() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served")
		}
	}
}
