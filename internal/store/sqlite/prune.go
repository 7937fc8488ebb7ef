package sqlite

import (
	"context"
	"fmt"
)

// Prune applies the retention and size bounds now. The writer also runs
// it at open and every ten minutes after a write.
func (d *DB) Prune(ctx context.Context) error {
	if d.ro {
		return ErrReadOnly
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.prune(ctx)
}

func (d *DB) prune(ctx context.Context) error {
	// sums still in memory would bring pruned rollups back
	if err := d.flushPending(ctx); err != nil {
		return err
	}
	now := d.now()
	d.lastPrune = now
	nowMS := now.UnixMilli()
	deleted := false
	if r := d.cfg.Retention; r > 0 {
		n, err := d.pruneDetail(ctx, floorDiv(nowMS-r.Milliseconds(), msHour))
		if err != nil {
			return err
		}
		deleted = deleted || n > 0
	}
	if r := d.cfg.RollupRetention; r > 0 {
		n, err := d.pruneRollups(ctx, floorDiv(nowMS-r.Milliseconds(), msHour))
		if err != nil {
			return err
		}
		deleted = deleted || n > 0
	}
	if d.cfg.MaxSize > 0 {
		for i := 0; i < 10000; i++ {
			used, err := d.used(ctx)
			if err != nil {
				return err
			}
			if used <= d.cfg.MaxSize*9/10 || (i == 0 && used <= d.cfg.MaxSize) {
				break
			}
			var minH int64
			if err := d.w.QueryRowContext(ctx, `SELECT coalesce(min(h), -1) FROM (SELECT min(h) AS h FROM flow_seg UNION ALL SELECT min(h) FROM query_seg)`).Scan(&minH); err != nil {
				return fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
			}
			if minH < 0 {
				d.log.Warn("store: over max_size with no detail rows left to prune; lower rollup_retention", "max_size", d.cfg.MaxSize, "used", used)
				break
			}
			if _, err := d.pruneDetail(ctx, (floorDiv(minH, 24)+1)*24); err != nil {
				return err
			}
			deleted = true
		}
	}
	if deleted {
		if _, err := d.w.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
			return fmt.Errorf("sqlite: %s: vacuum: %w", d.path, err)
		}
	}
	return nil
}

// used is the bytes of the database's pages in use.
func (d *DB) used(ctx context.Context) (int64, error) {
	var pages, free, size int64
	err := d.w.QueryRowContext(ctx, "SELECT (SELECT page_count FROM pragma_page_count()), (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())").Scan(&pages, &free, &size)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: size: %w", d.path, err)
	}
	return (pages - free) * size, nil
}

// pruneDetail deletes the flow and query segments of hours before cut.
func (d *DB) pruneDetail(ctx context.Context, cut int64) (int64, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
	}
	defer tx.Rollback()
	var total int64
	for _, t := range []struct{ table, counter string }{{"flow_seg", "flows"}, {"query_seg", "queries"}} {
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM "+t.table+" WHERE h < ?", cut).Scan(&n); err != nil {
			return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
		}
		if n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.table+" WHERE h < ?", cut); err != nil {
			return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE meta SET v = max(v - ?, 0) WHERE k = ?", n, t.counter); err != nil {
			return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
		}
		total += n
	}
	if total > 0 {
		for _, t := range []string{"name_day", "name_dev"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE d < ?", floorDiv(cut, 24)); err != nil {
				return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE meta SET v = max(v, ?) WHERE k = 'pruned_h'", cut); err != nil {
			return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
		}
		d.log.Info("store: pruned detail rows", "rows", total, "before_hour", cut)
	}
	return total, tx.Commit()
}

// pruneRollups deletes rollups, audits and inventory rows older than cut.
func (d *DB) pruneRollups(ctx context.Context, cut int64) (int64, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
	}
	defer tx.Rollback()
	day := floorDiv(cut, 24)
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{"DELETE FROM flow_h WHERE h < ?", cut}, {"DELETE FROM host_h WHERE h < ?", cut}, {"DELETE FROM query_h WHERE h < ?", cut},
		// whole blocks only: a block's older days are ignored by readers
		// (they read only the period asked) and go with the block
		{"DELETE FROM flow_m WHERE m < ?", floorDiv(day, blockDays)}, {"DELETE FROM query_m WHERE m < ?", floorDiv(day, blockDays)},
		{"DELETE FROM host_d WHERE d < ?", day},
		{"DELETE FROM name_d WHERE d < ?", day},
		{"DELETE FROM finding WHERE audit IN (SELECT id FROM audit WHERE t < ?)", cut * msHour},
		{"DELETE FROM audit WHERE t < ?", cut * msHour},
		{"DELETE FROM inventory WHERE seen < ?", cut * msHour},
		{"DELETE FROM evidence WHERE last < ?", cut * msHour},
	} {
		res, err := tx.ExecContext(ctx, q.sql, q.arg)
		if err != nil {
			return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if _, err := tx.ExecContext(ctx, "UPDATE meta SET v = max(v, ?) WHERE k = 'pruned_rollup_d'", day); err != nil {
		return 0, fmt.Errorf("sqlite: %s: prune: %w", d.path, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if total > 0 {
		d.dict.ev, d.dict.evN = map[evKey]int64{}, map[[2]int64]int{}
	}
	return total, nil
}
