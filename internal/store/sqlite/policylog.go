package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/outflow-dev/outflow/internal/store"
)

var (
	_ store.PolicyLog  = (*DB)(nil)
	_ store.PolicyHead = (*DB)(nil)
)

// WritePolicyChange stores c and sets its ID. The dashboard opens the
// store read-only (the sensor and the resolver write it; a second
// read-write open would run the writer's recovery and flusher beside
// theirs), so on a read-only DB the row is written through a connection
// of its own, opened for this one insert: changes are rare, and SQLite
// serialises it with the other processes' writes (busy_timeout).
func (d *DB) WritePolicyChange(ctx context.Context, c *store.PolicyChange) error {
	res, err := d.writeRow(ctx, `INSERT INTO policy_change (t, user, comment, file, before, after, diff, reverts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Time.UnixMilli(), c.User, c.Comment, c.File, c.Before, c.After, c.Diff, c.Reverts)
	if err != nil {
		return fmt.Errorf("sqlite: %s: policy change: %w", d.path, err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("sqlite: %s: policy change: %w", d.path, err)
	}
	return nil
}

// writeRow runs one statement of the dashboard's own rows (policy
// changes, upload jobs): through the writer, or on a read-only DB
// through a connection opened for it.
func (d *DB) writeRow(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if !d.ro {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		return d.w.ExecContext(ctx, q, args...)
	}
	w, err := sql.Open("sqlite", d.path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return w.ExecContext(ctx, q, args...)
}

// PolicyChanges returns the changes in the filter's period, newest first,
// without the whole files.
func (d *DB) PolicyChanges(ctx context.Context, f store.Filter) ([]store.PolicyChange, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	rows, err := d.r.QueryContext(ctx, `SELECT id, t, user, comment, file, diff, reverts FROM policy_change
		WHERE t >= ? AND t < ? ORDER BY t DESC, id DESC LIMIT ? OFFSET ?`, p.lo, p.hi, lim, off)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: policy changes: %w", d.path, err)
	}
	defer rows.Close()
	out := []store.PolicyChange{}
	for rows.Next() {
		var c store.PolicyChange
		var t int64
		if err := rows.Scan(&c.ID, &t, &c.User, &c.Comment, &c.File, &c.Diff, &c.Reverts); err != nil {
			return nil, fmt.Errorf("sqlite: %s: policy changes: %w", d.path, err)
		}
		c.Time = tm(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: policy changes: %w", d.path, err)
	}
	return out, nil
}

// PolicyChange returns one change, whole.
func (d *DB) PolicyChange(ctx context.Context, id int64) (*store.PolicyChange, error) {
	c := store.PolicyChange{ID: id}
	var t int64
	err := d.r.QueryRowContext(ctx, `SELECT t, user, comment, file, before, after, diff, reverts FROM policy_change WHERE id = ?`, id).
		Scan(&t, &c.User, &c.Comment, &c.File, &c.Before, &c.After, &c.Diff, &c.Reverts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: policy change %d: %w", d.path, id, err)
	}
	c.Time = tm(t)
	return &c, nil
}

// PolicyHead is the id of the newest change, 0 when there is none.
func (d *DB) PolicyHead(ctx context.Context) (int64, error) {
	var id int64
	err := d.r.QueryRowContext(ctx, `SELECT id FROM policy_change ORDER BY t DESC, id DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: policy head: %w", d.path, err)
	}
	return id, nil
}
