package store

import (
	"context"
	"time"
)

// UploadJob is one app an admin uploaded on the dashboard and where its
// audit stands. It is kept in the store, so that the job's page and the
// list outlive the dashboard process.
type UploadJob struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"` // uploaded
	User    string    `json:"user"`
	Name    string    `json:"name"` // the file name the browser gave, for display only
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	State   string    `json:"state"` // queued, auditing, done, failed
	Error   string    `json:"error,omitzero"`
	Path    string    `json:"-"` // the file awaiting its audit; kept once done (the audit names it as its source), "" once failed
	Updated time.Time `json:"updated"`
}

// The states of an upload job.
const (
	UploadQueued   = "queued"
	UploadAuditing = "auditing"
	UploadDone     = "done"
	UploadFailed   = "failed"
)

// UploadLog is implemented by backends that keep the dashboard's upload
// jobs (SQLite, ClickHouse). Like PolicyLog it is not part of Store:
// callers check for it with a type assertion.
type UploadLog interface {
	// WriteUploadJob stores j: a job without an ID is added and gets
	// one; a job with an ID replaces the stored job of that ID. A
	// read-only SQLite store takes it too, as it takes policy changes.
	WriteUploadJob(ctx context.Context, j *UploadJob) error
	// UploadJobs: the jobs uploaded in the filter's period, newest
	// first.
	UploadJobs(ctx context.Context, f Filter) ([]UploadJob, error)
	// UploadJob: one job. ErrNotFound if absent.
	UploadJob(ctx context.Context, id int64) (*UploadJob, error)
}
