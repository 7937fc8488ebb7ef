package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The same APK uploaded twice (a retry, a double click): each job's page
// links the audit of its own run.
func TestSameFileUploadedTwice(t *testing.T) {
	s, _, _ := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	b := apk(t, "1.0")
	var links []string
	for i := range 2 {
		resp := postFile(t, s, sess, csrf, "a.apk", b)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload %d: %d", i, resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		var page string
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			page = readBody(t, s.do(t, req{target: loc, cookies: []*http.Cookie{sess}}))
			if strings.Contains(page, `class="upload-state">done`) {
				break
			}
		}
		m := regexp.MustCompile(`href="(/apps/\d+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("upload %d: no audit link", i)
		}
		links = append(links, m[1])
	}
	p1 := readBody(t, s.do(t, req{target: "/apps/uploads/1", cookies: []*http.Cookie{sess}}))
	if m := regexp.MustCompile(`href="(/apps/\d+)"`).FindStringSubmatch(p1); m == nil || m[1] != links[0] {
		t.Errorf("job 1 links %v now, its own audit was %s (job 2's is %s)", m, links[0], links[1])
	}
}
