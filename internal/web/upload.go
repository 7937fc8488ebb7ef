package web

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// App uploads: an admin posts an APK; it is streamed to a file (never
// held in memory whole) under a size limit, checked by its content (a
// ZIP whose central directory names AndroidManifest.xml), and audited by
// one worker at a time through Deps.Audit, which `outflow serve` runs as
// `outflow audit --store` in a process of its own: the CLI's limits, the
// CLI's store path, and a parser crash or a zip bomb that costs that
// process, not the dashboard.

// DefaultUploadMax bounds an upload unless upload_max says otherwise.
const DefaultUploadMax = 512 << 20

// uploads is the audit worker's queue. The jobs themselves are in the
// store (store.UploadLog), so that their pages outlive the process.
type uploads struct {
	sync.Mutex // one new job's ID at a time (ClickHouse picks max+1)
	queue      chan queued
	once       sync.Once
}

// queued is a job for the worker: its ID and the file to audit.
type queued struct {
	id   int64
	path string
}

func (s *Server) uploadLog() (store.UploadLog, bool) {
	ul, ok := s.r.(store.UploadLog)
	return ul, ok
}

// startWorker starts the one audit worker, once.
func (s *Server) startWorker() {
	s.up.once.Do(func() {
		s.up.queue = make(chan queued, 64)
		go s.auditWorker()
	})
}

// enqueue hands a job to the worker, or fails it when too many wait.
func (s *Server) enqueue(ctx context.Context, j *store.UploadJob) {
	s.startWorker()
	select {
	case s.up.queue <- queued{j.ID, j.Path}:
	default:
		os.Remove(j.Path)
		s.setJob(ctx, j.ID, store.UploadFailed, "too many uploads waiting; try again later")
	}
}

func (s *Server) uploadMax() int64 {
	if s.cfg.UploadMax > 0 {
		return s.cfg.UploadMax
	}
	return DefaultUploadMax
}

// zipMagic starts a ZIP file's first local header (an APK is a ZIP).
var zipMagic = []byte("PK\x03\x04")

// uploadTime is how long an upload of at most max bytes may take to
// arrive: 30 s, plus a second per MiB.
func uploadTime(max int64) time.Duration {
	return 30*time.Second + time.Duration(max>>20)*time.Second
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if s.audit == nil {
		s.fail(w, r, http.StatusNotImplemented, "uploads are off: this dashboard has no audit worker")
		return
	}
	ul, ok := s.uploadLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "uploads are off: this store keeps no upload jobs")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadMax()+1<<20)
	// the server's ReadTimeout (30 s) covers a whole request body, which
	// would cut off an upload near the size limit on an ordinary link:
	// this request gets 30 s more than the limit takes at 1 MiB/s
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime(s.uploadMax())))
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "post the app as multipart/form-data, field apk")
		return
	}
	var job *store.UploadJob
	for job == nil {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "a malformed form")
			return
		}
		if p.FormName() != "apk" {
			continue
		}
		job, err = s.receive(p)
		var he *httpError
		if errors.As(err, &he) {
			s.fail(w, r, he.code, he.msg)
			return
		}
		if err != nil {
			s.log.Error("upload: write", "err", err)
			s.fail(w, r, http.StatusInternalServerError, "the upload could not be stored; see the server's log")
			return
		}
	}
	if job == nil {
		s.fail(w, r, http.StatusBadRequest, "no file in field apk")
		return
	}
	job.User, job.Time, job.Updated, job.State = whoFrom(r.Context()).User, s.now().UTC(), s.now().UTC(), store.UploadQueued
	s.up.Lock()
	err = ul.WriteUploadJob(r.Context(), job)
	s.up.Unlock()
	if err != nil {
		os.Remove(job.Path)
		s.log.Error("upload: the job could not be stored", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "the upload could not be recorded in the store; see the server's log")
		return
	}
	s.enqueue(r.Context(), job)
	s.log.Info("app uploaded", "user", job.User, "sha256", job.SHA256, "bytes", job.Size, "job", job.ID)
	http.Redirect(w, r, "/apps/uploads/"+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
}

type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// receive streams one part to a file beside the others, hashing it, and
// checks its content. On any error the file is gone.
func (s *Server) receive(p io.Reader) (*store.UploadJob, error) {
	dir := s.cfg.UploadDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "outflow-upload-*.apk")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(path)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, s.uploadMax()+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", s.uploadMax())}
		}
		return nil, &httpError{http.StatusBadRequest, "the upload broke off"}
	}
	if n > s.uploadMax() {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", s.uploadMax())}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := checkAPK(f, n); err != nil {
		return nil, &httpError{http.StatusUnsupportedMediaType, err.Error()}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	ok = true
	name := ""
	if fp, isPart := p.(interface{ FileName() string }); isPart {
		name = fp.FileName()
	}
	return &store.UploadJob{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, Path: path}, nil
}

// checkAPK judges the file by its content, not its name: a ZIP (the
// magic of a local header at the start, a central directory that reads)
// that holds AndroidManifest.xml.
func checkAPK(f *os.File, size int64) error {
	var head [4]byte
	if _, err := f.ReadAt(head[:], 0); err != nil || !bytes.Equal(head[:], zipMagic) {
		return errors.New("not an APK: the file is not a ZIP archive")
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("not an APK: %v", err)
	}
	for _, e := range zr.File {
		if e.Name == "AndroidManifest.xml" {
			return nil
		}
	}
	return errors.New("not an APK: no AndroidManifest.xml in the archive")
}

// setJob records a job's new state; the file is gone once it is done
// or failed.
func (s *Server) setJob(ctx context.Context, id int64, state, msg string) {
	ul, _ := s.uploadLog()
	j, err := ul.UploadJob(ctx, id)
	if err == nil {
		j.State, j.Error, j.Updated = state, msg, s.now().UTC()
		if state == store.UploadFailed {
			j.Path = ""
		}
		// a done job keeps its file's path, gone by now: the audit names
		// it as its source, which tells this job's audit from that of
		// the same file uploaded again
		err = ul.WriteUploadJob(ctx, j)
	}
	if err != nil {
		s.log.Error("upload: the job's state could not be stored", "job", id, "state", state, "err", err)
	}
}

// auditWorker audits the uploads one at a time.
func (s *Server) auditWorker() {
	for q := range s.up.queue {
		ctx := context.Background()
		s.setJob(ctx, q.id, store.UploadAuditing, "")
		actx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		err := s.audit(actx, q.path)
		cancel()
		os.Remove(q.path)
		if err != nil {
			s.log.Warn("upload: audit failed", "job", q.id, "err", err)
			s.setJob(ctx, q.id, store.UploadFailed, err.Error())
			continue
		}
		s.setJob(ctx, q.id, store.UploadDone, "")
	}
}

// resumeUploads, at start, settles the jobs a dashboard that stopped
// left unfinished: a job still queued whose file is still there is
// queued again (nothing of it ran); one that was being audited is
// failed, with the reason, and its file removed: the audit may be what
// stopped the process, and running it again at every start would not
// help. A job whose file is gone is failed too. Every unfinished job is
// taken for this process's: two dashboards sharing one store for
// uploads are not supported.
func (s *Server) resumeUploads(ctx context.Context) {
	ul, ok := s.uploadLog()
	if !ok {
		return
	}
	js, err := ul.UploadJobs(ctx, store.Filter{Until: s.now().Add(time.Minute), Limit: store.MaxLimit})
	if err != nil {
		s.log.Error("upload: the jobs left by the last run could not be read", "err", err)
		return
	}
	slices.Reverse(js) // oldest first, as they were queued
	for _, j := range js {
		if j.State != store.UploadQueued && j.State != store.UploadAuditing {
			continue
		}
		_, statErr := os.Stat(j.Path)
		switch {
		case j.State == store.UploadQueued && j.Path != "" && statErr == nil && s.audit != nil:
			s.log.Info("upload: queued again after a restart", "job", j.ID)
			s.enqueue(ctx, &j)
			continue
		case j.State == store.UploadAuditing:
			j.Error = "the dashboard stopped while this app was being audited; upload it again"
		case s.audit == nil:
			j.Error = "the dashboard restarted with uploads off; upload the app again where they are on"
		default:
			j.Error = "the dashboard stopped before this app was audited, and its file is gone; upload it again"
		}
		if j.Path != "" {
			os.Remove(j.Path)
		}
		s.log.Warn("upload: failed by a restart", "job", j.ID, "was", j.State)
		s.setJob(ctx, j.ID, store.UploadFailed, j.Error)
	}
}

type uploadData struct {
	Job   *store.UploadJob `json:"job"`
	Audit *store.Audit     `json:"audit,omitempty"` // once done: the audit it stored
}

// uploadData reads job id and, once it is done, its audit; it answers
// the request itself (false) when it cannot.
func (s *Server) uploadData(w http.ResponseWriter, r *http.Request) (*uploadData, bool) {
	ul, ok := s.uploadLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this store keeps no upload jobs")
		return nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.fail(w, r, http.StatusBadRequest, "upload id: want a number")
		return nil, false
	}
	job, err := ul.UploadJob(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "no such upload")
		return nil, false
	}
	if err != nil {
		s.storeFail(w, r, err)
		return nil, false
	}
	d := &uploadData{Job: job}
	if job.State == store.UploadDone {
		// The audit the worker stored: the newest of this file's digest
		// among those stored while the job ran (the worker audits one
		// file at a time, so that is one or a few, however many audits
		// the store holds; the newest 200 of all missed it once 200 more
		// had been stored since).
		as, err := s.r.Audits(r.Context(), store.Filter{Since: job.Time.Add(-time.Minute), Until: job.Updated.Add(time.Minute), Limit: 200})
		if err != nil {
			s.storeFail(w, r, err)
			return nil, false
		}
		for _, a := range as {
			full, err := s.r.Audit(r.Context(), a.ID)
			// by the file it was made from (unique to the job), or by
			// digest for a job stored before done jobs kept their path
			if err == nil && full.SHA256 == job.SHA256 && (job.Path == "" || full.Source == job.Path) {
				d.Audit = full
				break
			}
		}
	}
	return d, true
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request) {
	d, ok := s.uploadData(w, r)
	if !ok {
		return
	}
	v := s.newView(r, "apps", "Upload "+strconv.FormatInt(d.Job.ID, 10))
	v.Data = d
	s.render(w, r, http.StatusOK, "upload", v)
}

// uploadAPI is GET /api/uploads/{id}: the job and, once it is done, its
// audit, for a script that uploaded a file and waits for the verdict.
func (s *Server) uploadAPI(w http.ResponseWriter, r *http.Request) {
	if d, ok := s.uploadData(w, r); ok {
		s.json(w, r, d)
	}
}

// uploadsAPI is GET /api/uploads: the jobs, newest first, as a list.
func (s *Server) uploadsAPI(w http.ResponseWriter, r *http.Request) {
	ul, ok := s.uploadLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this store keeps no upload jobs")
		return
	}
	q := r.URL.Query()
	f, p, err := s.filter(r.Context(), q, "all", store.MaxLimit)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if q.Get("until") == "" {
		f.Until = s.now().Add(time.Minute) // a job stamped this instant, as the page lists it
		p.Until = f.Until
	}
	js, err := ul.UploadJobs(r.Context(), f)
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	out := list[store.UploadJob]{Until: p.Until, Limit: f.Limit, Offset: f.Offset, Items: js}
	if !p.Since.IsZero() {
		out.Since = &p.Since
	}
	s.json(w, r, out)
}

// uploadsPage lists the uploads, newest first, from the store.
func (s *Server) uploadsPage(w http.ResponseWriter, r *http.Request) {
	ul, ok := s.uploadLog()
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this store keeps no upload jobs")
		return
	}
	js, err := ul.UploadJobs(r.Context(), store.Filter{Until: s.now().Add(time.Minute), Limit: 200})
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	v := s.newView(r, "apps", "Uploads")
	v.Data = js
	s.render(w, r, http.StatusOK, "uploads", v)
}
