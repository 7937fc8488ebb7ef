package web

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkMarkup parses a page and fails on what the CSP would block or what
// is not well-formed enough to parse: inline script, inline style, event
// handler attributes, javascript: URLs.
func checkMarkup(t *testing.T, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			hasSrc := false
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case k == "style":
					t.Errorf("<%s style=%q>: inline style", n.Data, a.Val)
				case strings.HasPrefix(k, "on"):
					t.Errorf("<%s %s=...>: inline event handler", n.Data, k)
				case (k == "href" || k == "src" || k == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
					t.Errorf("<%s %s=%q>", n.Data, k, a.Val)
				case k == "src":
					hasSrc = true
				}
			}
			if n.Data == "script" && (!hasSrc || n.FirstChild != nil) {
				t.Error("inline script")
			}
			if n.Data == "style" {
				t.Error("<style> element")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestPages(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	tests := []struct {
		target string
		want   []string
	}{
		{"/", []string{"TikTok Pte. Ltd.", "Xiaomi Corp.", "ana-laptop", `data-cc="CN"><title>China: 45.2 KiB sent</title>`, "owned by ByteDance Ltd.", "Bytes sent to entities of concern per day", "(newest data)",
			"SG — controlled from CN", ">bis-entity-list(unverified)<"}},
		{"/?map=hosts", []string{"Hosting networks", `data-cc="US"><title>United States: 38.4 KiB sent</title>`, "Akamai Technologies (US)"}},
		{"/?period=day", []string{"Xiaomi Corp.", `aria-current="true">day</a>`}},
		{"/devices", []string{"ana-laptop", "192.168.50.10", "ben-phone", "TikTok Pte. Ltd."}},
		{"/devices?entity=tiktok", []string{"ana-laptop", "entity: tiktok"}},
		{"/devices/192.168.50.10", []string{"ana-laptop", "00:14:22:a1:b2:c3", "tls-sni", "www.tiktok.com", "bytedance-domains", "api16-normal-useast5.us.tiktokv.com", "ban-bytedance"}},
		{"/flows?device=192.168.50.10", []string{"23.50.60.70:443", "www.tiktok.com", "en.wikipedia.org"}},
		{"/names?device=192.168.50.10", []string{"www.tiktok.com"}},
		{"/queries?verdict=block", []string{"log.tiktokv.com", "ban-bytedance", "verdict: block"}},
		{"/enforcement", []string{"Clients still asking after the deadline", "ana-laptop", "ban-bytedance", "2026-02-28", "xiaomi-2026", "procurement rule"}},
		{"/apps", []string{"Mi Home", "com.xiaomi.smarthome", "high 1"}},
		{"/apps/1", []string{"Reads &lt;precise&gt; location", "App by Xiaomi", "sev-high"}},
		{"/compliance", []string{"com.xiaomi.smarthome", "org.mozilla.firefox", "xiaomi-2026", "Devices per rule", "Next deadline",
			`verdict=due">1</a>`}},
		{"/search?q=tiktok", []string{"TikTok Pte. Ltd.", `href="/devices?entity=tiktok"`, "<h2>Entities</h2>"}},
		{"/search?q=ana", []string{`href="/devices/192.168.50.10"`}},
		{"/search?q=%3Cscript%3E", []string{"Nothing matches “&lt;script&gt;”"}},
		// Without users nobody may change the policy; the pages still read.
		{"/policy", []string{"No policy file is configured", "ban ByteDance", `href="/policy/history/1"`}},
		{"/policy/history", []string{"ban ByteDance", "&#43;1 −0 lines"}},
		{"/policy/history/1", []string{"ban ByteDance", `class="d-add">&#43;rules: []`}},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			resp := s.do(t, req{target: tc.target})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d:\n%s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			checkMarkup(t, body)
		})
	}
}

func TestPageErrors(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		target string
		code   int
	}{
		{"/devices/10.9.9.9", http.StatusNotFound},
		{"/apps/999", http.StatusNotFound},
		{"/apps/x", http.StatusBadRequest},
		{"/devices?period=fortnight", http.StatusBadRequest},
		{"/no/such/page", http.StatusNotFound},
		{"/static/", http.StatusNotFound},
		{"/static/nope.js", http.StatusNotFound},
	} {
		t.Run(tc.target, func(t *testing.T) {
			resp := s.do(t, req{target: tc.target})
			body := readBody(t, resp)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if strings.Contains(body, "sqlite") || strings.Contains(body, "/tmp/") {
				t.Errorf("error page shows internals: %s", body)
			}
		})
	}
	// POST to a page is refused (read-only), as is an unknown method.
	for _, m := range []string{http.MethodPost, http.MethodDelete} {
		if resp := s.do(t, req{method: m, target: "/devices"}); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /devices: status %d, want 405", m, resp.StatusCode)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	s := newTestServer(t, DefaultConfig())
	for path, ct := range map[string]string{"/static/app.js": "text/javascript", "/static/app.css": "text/css", "/static/favicon.svg": "image/svg+xml"} {
		resp := s.do(t, req{target: path})
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) {
			t.Errorf("%s: status %d, Content-Type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
