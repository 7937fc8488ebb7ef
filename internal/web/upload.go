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

type uploadJob struct {
	ID     int
	Name   string // the file name the browser gave, for display only
	SHA256 string
	Size   int64
	User   string
	Start  time.Time
	State  string // queued, auditing, done, failed
	Error  string
	path   string // the file being audited
}

type uploads struct {
	sync.Mutex
	jobs  map[int]*uploadJob
	next  int
	queue chan *uploadJob
	once  sync.Once
}

func (s *Server) uploadMax() int64 {
	if s.cfg.UploadMax > 0 {
		return s.cfg.UploadMax
	}
	return DefaultUploadMax
}

// zipMagic starts a ZIP file's first local header (an APK is a ZIP).
var zipMagic = []byte("PK\x03\x04")

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if s.audit == nil {
		s.fail(w, r, http.StatusNotImplemented, "uploads are off: this dashboard has no audit worker")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadMax()+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "post the app as multipart/form-data, field apk")
		return
	}
	var job *uploadJob
	var path string
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
		job, path, err = s.receive(p)
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
	job.User, job.Start, job.State = whoFrom(r.Context()).User, s.now(), "queued"
	s.up.once.Do(func() {
		s.up.queue = make(chan *uploadJob, 64)
		go s.auditWorker()
	})
	s.up.Lock()
	if s.up.jobs == nil {
		s.up.jobs = map[int]*uploadJob{}
	}
	s.up.next++
	job.ID = s.up.next
	s.up.jobs[job.ID] = job
	s.up.Unlock()
	select {
	case s.up.queue <- &uploadJob{ID: job.ID, path: path}:
	default:
		os.Remove(path)
		s.setJob(job.ID, func(j *uploadJob) { j.State, j.Error = "failed", "too many uploads waiting; try again later" })
	}
	s.log.Info("app uploaded", "user", job.User, "sha256", job.SHA256, "bytes", job.Size, "job", job.ID)
	http.Redirect(w, r, "/apps/uploads/"+strconv.Itoa(job.ID), http.StatusSeeOther)
}

type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// receive streams one part to a file beside the others, hashing it, and
// checks its content. On any error the file is gone.
func (s *Server) receive(p io.Reader) (*uploadJob, string, error) {
	dir := s.cfg.UploadDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "outflow-upload-*.apk")
	if err != nil {
		return nil, "", err
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
			return nil, "", &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", s.uploadMax())}
		}
		return nil, "", &httpError{http.StatusBadRequest, "the upload broke off"}
	}
	if n > s.uploadMax() {
		return nil, "", &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", s.uploadMax())}
	}
	if err := f.Sync(); err != nil {
		return nil, "", err
	}
	if err := checkAPK(f, n); err != nil {
		return nil, "", &httpError{http.StatusUnsupportedMediaType, err.Error()}
	}
	if err := f.Close(); err != nil {
		return nil, "", err
	}
	ok = true
	name := ""
	if fp, isPart := p.(interface{ FileName() string }); isPart {
		name = fp.FileName()
	}
	return &uploadJob{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, path, nil
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

func (s *Server) setJob(id int, fn func(*uploadJob)) {
	s.up.Lock()
	defer s.up.Unlock()
	if j := s.up.jobs[id]; j != nil {
		fn(j)
	}
}

// auditWorker audits the uploads one at a time.
func (s *Server) auditWorker() {
	for q := range s.up.queue {
		s.setJob(q.ID, func(j *uploadJob) { j.State = "auditing" })
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		err := s.audit(ctx, q.path)
		cancel()
		os.Remove(q.path)
		if err != nil {
			s.log.Warn("upload: audit failed", "job", q.ID, "err", err)
			s.setJob(q.ID, func(j *uploadJob) { j.State, j.Error = "failed", err.Error() })
			continue
		}
		s.setJob(q.ID, func(j *uploadJob) { j.State = "done" })
	}
}

type uploadData struct {
	Job   uploadJob
	Audit *store.Audit
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	s.up.Lock()
	var job uploadJob
	j := s.up.jobs[id]
	if j != nil {
		job = *j
	}
	s.up.Unlock()
	if j == nil {
		s.fail(w, r, http.StatusNotFound, "no such upload (uploads are kept until the dashboard restarts)")
		return
	}
	d := &uploadData{Job: job}
	if job.State == "done" {
		// The audit the worker stored: the newest of this file's digest.
		as, err := s.r.Audits(r.Context(), store.Filter{Limit: 200})
		if err != nil {
			s.storeFail(w, r, err)
			return
		}
		for _, a := range as {
			full, err := s.r.Audit(r.Context(), a.ID)
			if err == nil && full.SHA256 == job.SHA256 {
				d.Audit = full
				break
			}
		}
	}
	v := s.newView(r, "apps", "Upload "+strconv.Itoa(id))
	v.Data = d
	s.render(w, r, http.StatusOK, "upload", v)
}
