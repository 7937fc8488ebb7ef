package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
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
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
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
	// 250 audits of other files stored later: each upload's page still
	// finds its own audit
	info, err := s.r.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wcfg := store.DefaultConfig()
	wcfg.Path, wcfg.Retention, wcfg.RollupRetention, wcfg.MaxSize = info.Path, 0, 0, 0
	w, err := sqlite.Open(t.Context(), wcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var later store.Batch
	for i := range 250 {
		later.Audits = append(later.Audits, store.Audit{Time: testNow.Add(time.Hour + time.Duration(i)*time.Second), App: "com.example.other",
			Version: itoa(int64(i)), SHA256: sha([]byte(itoa(int64(i))))})
	}
	if err := w.Write(t.Context(), &later); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for i, loc := range []string{"/apps/uploads/1", "/apps/uploads/2"} {
		page := readBody(t, s.do(t, req{target: loc, cookies: []*http.Cookie{vsess}}))
		if !strings.Contains(page, `href="`+auditURLs[i]+`"`) {
			t.Fatalf("%s lost its audit (%s) after 250 later audits:\n%s", loc, auditURLs[i], page)
		}
	}

	// the same as JSON, for scripts that upload and wait
	var one struct {
		Job   store.UploadJob `json:"job"`
		Audit *store.Audit    `json:"audit"`
	}
	if err := json.Unmarshal([]byte(readBody(t, s.do(t, req{target: "/api/uploads/2", cookies: []*http.Cookie{vsess}}))), &one); err != nil {
		t.Fatal(err)
	}
	if one.Job.ID != 2 || one.Job.State != store.UploadDone || one.Audit == nil || "/apps/"+itoa(one.Audit.ID) != auditURLs[1] ||
		one.Audit.SHA256 != one.Job.SHA256 || one.Audit.Version != "2.0" {
		t.Fatalf("/api/uploads/2: %+v, audit %+v", one.Job, one.Audit)
	}
	var all struct{ Items []store.UploadJob }
	if err := json.Unmarshal([]byte(readBody(t, s.do(t, req{target: "/api/uploads", cookies: []*http.Cookie{vsess}}))), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 2 || all.Items[0].ID != 2 || all.Items[1].ID != 1 {
		t.Fatalf("/api/uploads: %+v", all.Items)
	}
	if resp := s.do(t, req{target: "/api/uploads/9", cookies: []*http.Cookie{vsess}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/api/uploads/9: %d", resp.StatusCode)
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

// waitUpload reads an upload's page until its audit is done or failed.
func waitUpload(t *testing.T, s *testServer, sess *http.Cookie, loc string) string {
	t.Helper()
	var page string
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		page = readBody(t, s.do(t, req{target: loc, cookies: []*http.Cookie{sess}}))
		if strings.Contains(page, `class="upload-state">done`) || strings.Contains(page, `class="upload-state">failed`) {
			break
		}
	}
	return page
}

// TestUploadsSurviveRestart: upload jobs are kept in the store. A new
// dashboard on the same store shows the jobs of the one before; at its
// start a job left queued with its file is audited, one left being
// audited, or whose file is gone, is failed with the reason.
func TestUploadsSurviveRestart(t *testing.T) {
	s, _, _ := policyServer(t, startPolicy)
	ctx := context.Background()
	sess, csrf := signIn(t, s, "ana", testPassword)
	resp := postFile(t, s, sess, csrf, "tiktok.apk", apk(t, "1.0"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if page := waitUpload(t, s, sess, "/apps/uploads/1"); !strings.Contains(page, `class="upload-state">done`) {
		t.Fatalf("upload 1 not done:\n%s", page)
	}
	// What a dashboard that died left: a job being audited, one queued
	// with its file, one queued whose file is gone.
	ul := s.r.(store.UploadLog)
	file := func(name string, b []byte) string {
		p := filepath.Join(s.cfg.UploadDir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	left := []*store.UploadJob{
		{Name: "was-auditing.apk", State: store.UploadAuditing, Path: file("outflow-upload-a.apk", apk(t, "2.0"))},
		{Name: "was-queued.apk", State: store.UploadQueued, Path: file("outflow-upload-b.apk", apk(t, "3.0"))},
		{Name: "lost.apk", State: store.UploadQueued, Path: filepath.Join(s.cfg.UploadDir, "outflow-upload-gone.apk")},
	}
	for _, j := range left {
		j.Time, j.Updated, j.User, j.SHA256, j.Size = testNow, testNow, "ana", strings.Repeat("0", 64), 1000
		if j.Name == "was-queued.apk" {
			j.SHA256 = sha(apk(t, "3.0"))
		}
		if err := ul.WriteUploadJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if left[0].ID != 2 || left[2].ID != 4 {
		t.Fatalf("job IDs %d..%d, want 2..4", left[0].ID, left[2].ID)
	}

	// A new dashboard, on the store opened again.
	info, err := s.r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scfg := store.DefaultConfig()
	scfg.Path = info.Path
	db2, err := sqlite.OpenReadOnly(ctx, scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	cfg := s.cfg
	cfg.Listen = "127.0.0.1:0"
	logs := &syncBuffer{}
	s2srv, err := New(cfg, Deps{Reader: db2, Now: func() time.Time { return testNow }, Catalog: builtinCatalog, Audit: s.audit,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s2 := &testServer{Server: s2srv, logs: logs}
	if err := s2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	vsess, _ := signIn(t, s2, "vic", viewerPassword)
	for _, tc := range []struct {
		id         string
		state, msg string
	}{
		{"1", "done", ""},
		{"2", "failed", "the dashboard stopped while this app was being audited; upload it again"},
		{"3", "done", ""},
		{"4", "failed", "its file is gone"},
	} {
		page := waitUpload(t, s2, vsess, "/apps/uploads/"+tc.id)
		if !strings.Contains(page, `class="upload-state">`+tc.state) || !strings.Contains(page, tc.msg) {
			t.Fatalf("upload %s after the restart, want %s %q:\n%s", tc.id, tc.state, tc.msg, page)
		}
		if tc.state == "done" && !regexp.MustCompile(`href="/apps/\d+"`).MatchString(page) {
			t.Fatalf("upload %s: no link to its audit", tc.id)
		}
	}
	if j, err := ul.UploadJob(ctx, 2); err != nil || j.Path != "" || j.State != store.UploadFailed {
		t.Fatalf("job 2 in the store: %+v %v", j, err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.cfg.UploadDir, "outflow-upload-*")); len(left) != 0 {
		t.Fatalf("files left after the restart: %v", left)
	}
	list := readBody(t, s2.do(t, req{target: "/apps/uploads", cookies: []*http.Cookie{vsess}}))
	for _, want := range []string{`href="/apps/uploads/1"`, `href="/apps/uploads/4"`, "was-queued.apk", "its file is gone"} {
		if !strings.Contains(list, want) {
			t.Fatalf("the uploads list lacks %q:\n%s", want, list)
		}
	}
	if resp := s2.do(t, req{target: "/apps/uploads/9", cookies: []*http.Cookie{vsess}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("absent upload: %d", resp.StatusCode)
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestUploadOutlastsReadTimeout: an upload that arrives more slowly than
// the HTTP server's ReadTimeout allows for a whole request is still
// received: the upload route gives its request the time its size limit
// needs (uploadTime).
func TestUploadOutlastsReadTimeout(t *testing.T) {
	s, _, _ := policyServer(t, startPolicy)
	sess, csrf := signIn(t, s, "ana", testPassword)
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	defer ts.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("apk", "slow.apk")
		b := apk(t, "1.0")
		for len(b) > 0 { // in ten pieces over a second
			n := min(len(b), len(b)/10+1)
			fw.Write(b[:n])
			b = b[n:]
			time.Sleep(100 * time.Millisecond)
		}
		pw.CloseWithError(mw.Close())
	}()
	r, err := http.NewRequest(http.MethodPost, ts.URL+"/apps/upload?csrf="+csrf, pr)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Accept", "text/html")
	r.AddCookie(sess)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("slow upload: status %d, want 303: %s", resp.StatusCode, readBody(t, resp))
	}
}
