package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/outflow-dev/outflow/internal/store"
)

var _ store.UploadLog = (*DB)(nil)

// WriteUploadJob adds j (no ID yet) or replaces the job of its ID; on a
// read-only DB through a connection of its own, as policy changes are.
func (d *DB) WriteUploadJob(ctx context.Context, j *store.UploadJob) error {
	args := []any{j.Time.UnixMilli(), j.User, j.Name, j.SHA256, j.Size, j.State, j.Error, j.Path, j.Updated.UnixMilli()}
	if j.ID == 0 {
		res, err := d.writeRow(ctx, `INSERT INTO upload_job (t, user, name, sha256, size, state, error, path, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if err == nil {
			j.ID, err = res.LastInsertId()
		}
		if err != nil {
			return fmt.Errorf("sqlite: %s: upload job: %w", d.path, err)
		}
		return nil
	}
	if _, err := d.writeRow(ctx, `INSERT OR REPLACE INTO upload_job (id, t, user, name, sha256, size, state, error, path, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{j.ID}, args...)...); err != nil {
		return fmt.Errorf("sqlite: %s: upload job %d: %w", d.path, j.ID, err)
	}
	return nil
}

const uploadCols = `id, t, user, name, sha256, size, state, error, path, updated`

func scanUpload(sc func(...any) error) (store.UploadJob, error) {
	var j store.UploadJob
	var t, u int64
	err := sc(&j.ID, &t, &j.User, &j.Name, &j.SHA256, &j.Size, &j.State, &j.Error, &j.Path, &u)
	j.Time, j.Updated = tm(t), tm(u)
	return j, err
}

// UploadJobs returns the jobs uploaded in the filter's period, newest
// first.
func (d *DB) UploadJobs(ctx context.Context, f store.Filter) ([]store.UploadJob, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	rows, err := d.r.QueryContext(ctx, `SELECT `+uploadCols+` FROM upload_job WHERE t >= ? AND t < ? ORDER BY t DESC, id DESC LIMIT ? OFFSET ?`,
		p.lo, p.hi, lim, off)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: upload jobs: %w", d.path, err)
	}
	defer rows.Close()
	out := []store.UploadJob{}
	for rows.Next() {
		j, err := scanUpload(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: upload jobs: %w", d.path, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: upload jobs: %w", d.path, err)
	}
	return out, nil
}

// UploadJob returns one job.
func (d *DB) UploadJob(ctx context.Context, id int64) (*store.UploadJob, error) {
	j, err := scanUpload(d.r.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM upload_job WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: upload job %d: %w", d.path, id, err)
	}
	return &j, nil
}
