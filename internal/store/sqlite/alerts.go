package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
)

var _ store.Alerts = (*DB)(nil)

// WriteAlerts stores alerts in one transaction.
func (d *DB) WriteAlerts(ctx context.Context, as []store.Alert) error {
	if d.ro {
		return ErrReadOnly
	}
	if len(as) == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", d.path, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO alert (t, kind, site, device, entity, entity_name, jurisdiction, rule, deadline, evidence, bytes, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite: %s: alerts: %w", d.path, err)
	}
	defer st.Close()
	for _, a := range as {
		var dl int64
		if !a.Deadline.IsZero() {
			dl = a.Deadline.UnixMilli()
		}
		if _, err := st.ExecContext(ctx, a.Time.UnixMilli(), a.Kind, a.Site, a.Device, a.Entity, a.EntityName, a.Jurisdiction, a.Rule,
			dl, a.Evidence, int64(min(a.Bytes, 1<<62)), a.Summary); err != nil {
			return fmt.Errorf("sqlite: %s: alerts: %w", d.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", d.path, err)
	}
	return nil
}

// Alerts returns the kept alerts in the filter's period, newest first,
// selected by device, entity and rule.
func (d *DB) Alerts(ctx context.Context, f store.Filter) ([]store.Alert, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	q := strings.Builder{}
	q.WriteString(`SELECT id, t, kind, site, device, entity, entity_name, jurisdiction, rule, deadline, evidence, bytes, summary
		FROM alert WHERE t >= ? AND t < ?`)
	args := []any{p.lo, p.hi}
	args = andIn(&q, args, "device", f.Devices)
	args = andIn(&q, args, "entity", f.Entities)
	args = andIn(&q, args, "rule", f.Rules)
	q.WriteString(" ORDER BY t DESC, id DESC LIMIT ? OFFSET ?")
	args = append(args, lim, off)
	rows, err := d.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: alerts: %w", d.path, err)
	}
	defer rows.Close()
	out := []store.Alert{}
	for rows.Next() {
		var a store.Alert
		var t, dl, bytes int64
		if err := rows.Scan(&a.ID, &t, &a.Kind, &a.Site, &a.Device, &a.Entity, &a.EntityName, &a.Jurisdiction, &a.Rule,
			&dl, &a.Evidence, &bytes, &a.Summary); err != nil {
			return nil, fmt.Errorf("sqlite: %s: alerts: %w", d.path, err)
		}
		a.Time, a.Deadline, a.Bytes = tm(t), tm(dl), uint64(bytes)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: alerts: %w", d.path, err)
	}
	return out, nil
}

// andIn adds "AND col IN (...)" for vs to q and their values to args; no
// values, no condition.
func andIn(q *strings.Builder, args []any, col string, vs []string) []any {
	if len(vs) == 0 {
		return args
	}
	q.WriteString(" AND " + col + " IN (?" + strings.Repeat(", ?", len(vs)-1) + ")")
	for _, v := range vs {
		args = append(args, v)
	}
	return args
}
