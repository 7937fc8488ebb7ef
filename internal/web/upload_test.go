package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
)

func apk(t *testing.T, version string) []byte {
	t.Helper()
	m := apkbuild.Manifest{Package: "com.zhiliaoapp.musically", VersionName: version, VersionCode: len(version), Label: "TikTok",
		Permissions: []string{"android.permission.ACCESS_FINE_LOCATION"}}
	b, err := apkbuild.Zip(apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postFile posts b as the apk field of a multipart form, the CSRF token
// in the query as the page's form sends it.
func postFile(t *testing.T, s *testServer, sess *http.Cookie, csrf, name string, b []byte) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("apk", name)
	fw.Write(b)
	mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/apps/upload?csrf="+csrf, &body)
	r.RemoteAddr, r.Host = "192.0.2.50:40000", "127.0.0.1:8080"
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Accept", "text/html")
	if sess != nil {
		r.AddCookie(sess)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w.Result()
}

// TestUpload: an admin uploads two versions of an app; each is checked by
// content, audited by the worker into the store, and gets a page linking
// its report, which lists the package's versions. Anything else is refused.
func TestUpload(t *testing.T) {
	s, _, _ := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	vsess, vcsrf := signIn(t, s, "vic", viewerPassword)
	body := readBody(t, s.do(t, req{target: "/apps", cookies: []*http.Cookie{sess}}))
	if !strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Fatal("no upload form for the admin")
	}
	if body := readBody(t, s.do(t, req{target: "/apps", cookies: []*http.Cookie{vsess}})); strings.Contains(body, `action="/apps/upload`) {
		t.Fatal("an upload form for a viewer")
	}
	for _, tc := range []struct {
		name   string
		sess   *http.Cookie
		csrf   string
		file   string
		b      []byte
		status int
	}{
		{"viewer", vsess, vcsrf, "a.apk", apk(t, "1.0"), http.StatusForbidden},
		{"no CSRF token", sess, "", "a.apk", apk(t, "1.0"), http.StatusForbidden},
		{"no session", nil, csrf, "a.apk", apk(t, "1.0"), http.StatusUnauthorized},
		{"text named .apk", sess, csrf, "a.apk", []byte("hello, not a zip"), http.StatusUnsupportedMediaType},
		{"zip without a manifest", sess, csrf, "a.apk", mustZipFile(t), http.StatusUnsupportedMediaType},
		{"too large", sess, csrf, "a.apk", append(apk(t, "1.0"), make([]byte, 2<<20)...), http.StatusRequestEntityTooLarge},
	} {
		resp := postFile(t, s, tc.sess, tc.csrf, tc.file, tc.b)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, readBody(t, resp))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.cfg.UploadDir, "outflow-upload-*")); len(left) != 0 {
		t.Fatalf("refused uploads left files: %v", left)
	}
	var auditURLs []string
	for i, v := range []string{"1.0", "2.0"} {
		resp := postFile(t, s, sess, csrf, "tiktok-"+v+".bin", apk(t, v)) // judged by content, not name
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/apps/uploads/"+itoa(int64(i+1)) {
			t.Fatalf("upload %s: %d %q %s", v, resp.StatusCode, resp.Header.Get("Location"), readBody(t, resp))
		}
		loc := resp.Header.Get("Location")
		var page string
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			page = readBody(t, s.do(t, req{target: loc, cookies: []*http.Cookie{vsess}}))
			if strings.Contains(page, `class="upload-state">done`) || strings.Contains(page, `class="upload-state">failed`) {
				break
			}
		}
		m := regexp.MustCompile(`href="(/apps/\d+)"`).FindStringSubmatch(page)
		if !strings.Contains(page, `class="upload-state">done`) || m == nil {
			t.Fatalf("upload %s never done with a report link:\n%s", v, page)
		}
		auditURLs = append(auditURLs, m[1])
	}
	rep := readBody(t, s.do(t, req{target: auditURLs[1], cookies: []*http.Cookie{vsess}}))
	for _, want := range []string{"com.zhiliaoapp.musically", "Versions of com.zhiliaoapp.musically", `href="` + auditURLs[0] + `">1.0`, "2.0"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.cfg.UploadDir, "outflow-upload-*")); len(left) != 0 {
		t.Fatalf("audited uploads left files: %v", left)
	}
}

func mustZipFile(t *testing.T) []byte {
	b, err := apkbuild.Zip(apkbuild.File{Name: "classes.txt", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCheckAPK: the content check reads an untrusted upload; it refuses
// or accepts, never panics, and accepts only a ZIP naming the manifest.
func FuzzCheckAPK(f *testing.F) {
	good, _ := apkbuild.Zip(apkbuild.File{Name: "AndroidManifest.xml", Data: []byte("x")})
	other, _ := apkbuild.Zip(apkbuild.File{Name: "a.txt", Data: []byte("x")})
	for _, seed := range [][]byte{good, other, []byte("PK\x03\x04"), nil, good[:len(good)/2]} {
		f.Add(seed)
	}
	p := filepath.Join(f.TempDir(), "x.apk")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if checkAPK(fh, int64(len(b))) == nil && !bytes.Contains(b, []byte("AndroidManifest.xml")) {
			t.Fatalf("accepted %q", b)
		}
	})
}
