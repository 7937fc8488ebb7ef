package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

var _ store.UploadLog = (*DB)(nil)

// uploadLogTables are migration 6: the dashboard's upload jobs (as
// SQLite's migration 8). A job's row is written again at each change of
// its state; the ReplacingMergeTree keeps the one of the highest v, and
// reads take it with FINAL. Few rows, never pruned.
var uploadLogTables = []table{
	{name: "upload_job", cols: "id Int64, t Int64, user String, name String, sha256 String, size Int64, state String, error String, " +
		"path String, updated Int64, v Int64", engine: "ReplacingMergeTree(v)", order: "id", shard: "id"},
}

// WriteUploadJob stores j at once (not through the spool: the page that
// follows reads it), a new job with the ID one past the largest the
// store holds; one dashboard uploads at a time (its handler holds the
// ID until the row is in).
func (d *DB) WriteUploadJob(ctx context.Context, j *store.UploadJob) error {
	id := j.ID
	if id == 0 {
		var last int64
		if err := d.conn.QueryRow(ctx, "SELECT toInt64(max(id)) FROM "+d.t("upload_job")).Scan(&last); err != nil {
			return fmt.Errorf("clickhouse: %s: upload job: %w", d.cfg, err)
		}
		id = last + 1
	}
	bt, err := d.conn.PrepareBatch(d.insertCtx(ctx), "INSERT INTO "+d.t("upload_job")+" (id, t, user, name, sha256, size, state, error, path, updated, v)")
	if err == nil {
		// v orders a job's versions: the wall clock's nanoseconds, not
		// the store's injected time, which may stand still.
		if err = bt.Append(id, ms(j.Time), j.User, j.Name, j.SHA256, j.Size, j.State, j.Error, j.Path, ms(j.Updated),
			time.Now().UnixNano()); err == nil {
			err = bt.Send()
		} else {
			bt.Abort()
		}
	}
	if err != nil {
		return fmt.Errorf("clickhouse: %s: upload job: %w", d.cfg, err)
	}
	j.ID = id
	return nil
}

const uploadCols = "id, t, user, name, sha256, size, state, error, path, updated"

func scanUpload(r driver.Rows) (store.UploadJob, error) {
	var j store.UploadJob
	var t, u int64
	err := r.Scan(&j.ID, &t, &j.User, &j.Name, &j.SHA256, &j.Size, &j.State, &j.Error, &j.Path, &u)
	j.Time, j.Updated = tm(t), tm(u)
	return j, err
}

// UploadJobs returns the jobs uploaded in the filter's period, newest
// first; see store.UploadLog.
func (d *DB) UploadJobs(ctx context.Context, f store.Filter) ([]store.UploadJob, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	out := []store.UploadJob{}
	err := d.query(ctx, "SELECT "+uploadCols+" FROM "+d.t("upload_job")+" FINAL WHERE t >= ? AND t < ? ORDER BY t DESC, id DESC LIMIT ? OFFSET ?",
		func(r driver.Rows) error {
			j, err := scanUpload(r)
			out = append(out, j)
			return err
		}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// UploadJob returns one job.
func (d *DB) UploadJob(ctx context.Context, id int64) (*store.UploadJob, error) {
	var j *store.UploadJob
	err := d.query(ctx, "SELECT "+uploadCols+" FROM "+d.t("upload_job")+" FINAL WHERE id = ? LIMIT 1", func(r driver.Rows) error {
		x, err := scanUpload(r)
		j = &x
		return err
	}, id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, store.ErrNotFound
	}
	return j, nil
}
