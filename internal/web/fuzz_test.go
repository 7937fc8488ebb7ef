package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseConfig: any configuration file is accepted or refused with an
// error, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add("listen: 127.0.0.1:8080\n")
	f.Add("listen: 0.0.0.0:1\nauth:\n  users:\n    - {name: a, password_hash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5'}\n  session_ttl: 1h\n")
	f.Add("tls: {cert: a, key: b}\nstore: {path: /x, retention: 24h}\nsecure_cookies: true\n")
	f.Add("auth: [1, 2]\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseConfig("f.yaml", []byte(in))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("ParseConfig accepted what Validate refuses: %v", verr)
			}
		}
	})
}

// FuzzRequest sends any path and query to the dashboard (no users, so
// every page is reachable): answers are 2xx, 3xx or 4xx, never a panic
// or a 500.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"/", "/?period=day&map=hosts", "/devices?entity=tiktok&limit=5&offset=1", "/devices/192.168.50.10",
		"/flows?name=tiktok.com&since=2026-03-01", "/api/flows?until=2026-03-03T00:00:00Z&verdict=block",
		"/api/search?q=ana&limit=3", "/apps/1", "/compliance?app=com.xiaomi.smarthome", "/search?q=%00",
		"/devices/%2F..%2F", "/api/devices/192.168.50.10?period=all", "/login?next=//evil",
	} {
		f.Add(seed)
	}
	s := newTestServer(f, DefaultConfig())
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+target, nil)
		if err != nil {
			return
		}
		r.RemoteAddr = "127.0.0.1:1234"
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s: status %d: %s", target, w.Code, w.Body.String())
		}
	})
}
