package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention. Detail rows are partitioned by day and rollups by month,
// and a partition is dropped whole (ALTER TABLE ... DROP PARTITION, on
// every shard) once all of it is older than its retention: detail rows
// are kept up to a day longer than asked and rollups up to a month,
// never shorter. Dropping a partition is
// instant and the same on 18.16 and on current servers; TTL (19.6+)
// would expire rows one by one by rewriting parts in the background,
// which 18.16 cannot do and the dashboard does not need. Audits,
// findings, inventory rows and evidence are not partitioned: rows past
// rollup_retention are deleted by a mutation (ALTER TABLE ... DELETE,
// applied by the server in the background), as the SQLite store prunes
// them.

// pruneEvery is how often a long-running process prunes.
const pruneEvery = time.Hour

// partitioned are the partitioned tables: detail rows by day (UTC days
// since 1970), rollups by month (YYYYMM).
var partitioned = []struct {
	table  string
	rollup bool
}{{"flow", false}, {"query", false}, {"flow_h", true}, {"host_h", true}, {"query_h", true}, {"name_d", true},
	{"flow_d", true}, {"host_d", true}, {"query_d", true}}

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
		for _, m := range partitioned {
			keep := d.cfg.Retention
			if m.rollup {
				keep = d.cfg.RollupRetention
			}
			if keep <= 0 {
				continue
			}
			cut := now.Add(-keep)
			before := int(floorDiv(cut.Unix(), 86400)) // the day cut falls in
			if m.rollup {
				before = cut.Year()*100 + int(cut.Month())
			}
			if err := d.dropParts(ctx, conn, m.table+local, before); err != nil {
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

// dropParts drops the partitions of table before the one named before
// (a day or a month).
func (d *DB) dropParts(ctx context.Context, conn driver.Conn, table string, before int) error {
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
		if n, err := strconv.Atoi(p); err == nil && n < before {
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
		d.log.Info("clickhouse: dropped a partition past retention", "server", d.cfg.String(), "table", table, "partition", p)
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
