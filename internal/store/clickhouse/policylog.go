package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

var (
	_ store.PolicyLog  = (*DB)(nil)
	_ store.PolicyHead = (*DB)(nil)
)

// policyLogTables are migration 5: the policy's changes made through the
// dashboard (as SQLite's migration 6). Few rows, written one at a time
// and never pruned: the history is part of the compliance record.
var policyLogTables = []table{
	{name: "policy_change", cols: "id Int64, t Int64, user String, comment String, file String, before String, after String, diff String, reverts Int64",
		engine: "MergeTree", order: "(t, id)", shard: "id"},
}

// WritePolicyChange stores c at once (not through the spool: the
// dashboard reports a change as saved only once it is in the history)
// and sets its ID, one past the largest the store holds. Two dashboards
// saving in the same millisecond could pick the same ID; the policy file
// they both write is one, so the second save is refused as stale anyway.
func (d *DB) WritePolicyChange(ctx context.Context, c *store.PolicyChange) error {
	var last int64
	if err := d.conn.QueryRow(ctx, "SELECT toInt64(max(id)) FROM "+d.t("policy_change")).Scan(&last); err != nil {
		return fmt.Errorf("clickhouse: %s: policy change: %w", d.cfg, err)
	}
	id := last + 1
	bt, err := d.conn.PrepareBatch(d.insertCtx(ctx), "INSERT INTO "+d.t("policy_change")+" (id, t, user, comment, file, before, after, diff, reverts)")
	if err == nil {
		if err = bt.Append(id, ms(c.Time), c.User, c.Comment, c.File, c.Before, c.After, c.Diff, c.Reverts); err == nil {
			err = bt.Send()
		} else {
			bt.Abort()
		}
	}
	if err != nil {
		return fmt.Errorf("clickhouse: %s: policy change: %w", d.cfg, err)
	}
	c.ID = id
	return nil
}

// PolicyChanges returns the changes in the filter's period, newest first,
// without the whole files; see store.PolicyLog.
func (d *DB) PolicyChanges(ctx context.Context, f store.Filter) ([]store.PolicyChange, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	out := []store.PolicyChange{}
	err := d.query(ctx, "SELECT id, t, user, comment, file, diff, reverts FROM "+d.t("policy_change")+
		" WHERE t >= ? AND t < ? ORDER BY t DESC, id DESC LIMIT ? OFFSET ?", func(r driver.Rows) error {
		var c store.PolicyChange
		var t int64
		if err := r.Scan(&c.ID, &t, &c.User, &c.Comment, &c.File, &c.Diff, &c.Reverts); err != nil {
			return err
		}
		c.Time = tm(t)
		out = append(out, c)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// PolicyChange returns one change, whole.
func (d *DB) PolicyChange(ctx context.Context, id int64) (*store.PolicyChange, error) {
	var c *store.PolicyChange
	err := d.query(ctx, "SELECT t, user, comment, file, before, after, diff, reverts FROM "+d.t("policy_change")+
		" WHERE id = ? LIMIT 1", func(r driver.Rows) error {
		x := store.PolicyChange{ID: id}
		var t int64
		if err := r.Scan(&t, &x.User, &x.Comment, &x.File, &x.Before, &x.After, &x.Diff, &x.Reverts); err != nil {
			return err
		}
		x.Time = tm(t)
		c = &x
		return nil
	}, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, store.ErrNotFound
	}
	return c, nil
}

// PolicyHead is the id of the newest change, 0 when there is none.
func (d *DB) PolicyHead(ctx context.Context) (int64, error) {
	var id int64
	err := d.query(ctx, "SELECT id FROM "+d.t("policy_change")+" ORDER BY t DESC, id DESC LIMIT 1", func(r driver.Rows) error {
		return r.Scan(&id)
	})
	return id, err
}
