package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention. Detail rows and rollups are partitioned by month, and a
// month is dropped whole (ALTER TABLE ... DROP PARTITION, on every shard)
// once all of it is older than its retention: rows are kept up to a
// month longer than asked, never shorter. Dropping a partition is
// instant and the same on 18.16 and on current servers; TTL (19.6+)
// would expire rows one by one by rewriting parts in the background,
// which 18.16 cannot do and the dashboard does not need. Audits,
// findings, inventory rows and evidence are not partitioned: rows past
// rollup_retention are deleted by a mutation (ALTER TABLE ... DELETE,
// applied by the server in the background), as the SQLite store prunes
// them.

// pruneEvery is how often a long-running process prunes.
const pruneEvery = time.Hour

// monthly are the partitioned tables; rollup says which retention.
var monthly = []struct {
	table  string
	rollup bool
}{{"flow", false}, {"query", false}, {"flow_h", true}, {"host_h", true}, {"query_h", true}, {"name_d", true}}

// unpartitioned rows past rollup retention, in the order to delete them
// (findings before their audits).
var pastRollups = []struct{ table, where string }{
	{"finding", "audit IN (SELECT id FROM %s WHERE t < %d)"},
	{"audit", "t < %d"},
	{"inventory_v", "seen < %d"},
	{"evidence", "last < %d"},
}

// Prune applies the retention now.
func (d *DB) Prune(ctx context.Context) error {
	if d.cfg.Retention <= 0 && d.cfg.RollupRetention <= 0 {
		return nil
	}
	now := d.now().UTC()
	return d.onEach(ctx, func(conn driver.Conn, where, local string) error {
		for _, m := range monthly {
			keep := d.cfg.Retention
			if m.rollup {
				keep = d.cfg.RollupRetention
			}
			if keep <= 0 {
				continue
			}
			cut := now.Add(-keep)
			if err := d.dropMonths(ctx, conn, m.table+local, cut.Year()*100+int(cut.Month())); err != nil {
				return fmt.Errorf("clickhouse: %s: prune %s: %w", where, m.table, err)
			}
		}
		if d.cfg.RollupRetention <= 0 {
			return nil
		}
		cut := now.Add(-d.cfg.RollupRetention).UnixMilli()
		for _, p := range pastRollups {
			t := d.t(p.table + local)
			cond := fmt.Sprintf(p.where, cut)
			if p.table == "finding" {
				cond = fmt.Sprintf(p.where, d.t("audit"+local), cut)
			}
			var n uint64
			if err := conn.QueryRow(ctx, "SELECT count() FROM "+t+" WHERE "+cond).Scan(&n); err != nil {
				return fmt.Errorf("clickhouse: %s: prune %s: %w", where, p.table, err)
			}
			if n == 0 {
				continue
			}
			if err := conn.Exec(ctx, "ALTER TABLE "+t+" DELETE WHERE "+cond); err != nil {
				return fmt.Errorf("clickhouse: %s: prune %s: %w", where, p.table, err)
			}
			d.m.pruned.Add(float64(n))
		}
		return nil
	})
}

// dropMonths drops the partitions of table before month (YYYYMM).
func (d *DB) dropMonths(ctx context.Context, conn driver.Conn, table string, month int) error {
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE active AND database = ? AND table = ?", d.cfg.Database, table)
	if err != nil {
		return err
	}
	var old []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		if n, err := strconv.Atoi(p); err == nil && n < month {
			old = append(old, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range old {
		if err := conn.Exec(ctx, "ALTER TABLE "+d.t(table)+" DROP PARTITION "+p); err != nil {
			return err
		}
		d.m.prunedParts.Inc()
		d.log.Info("clickhouse: dropped a month past retention", "server", d.cfg.String(), "table", table, "month", p)
	}
	return nil
}

// pruner prunes every pruneEvery until ctx ends.
func (d *DB) pruner(ctx context.Context) {
	defer close(d.pdone)
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Prune(ctx); err != nil && ctx.Err() == nil {
				d.m.pruneErrs.Inc()
				d.log.Warn("clickhouse: prune failed", "server", d.cfg.String(), "err", err)
			}
		}
	}
}
