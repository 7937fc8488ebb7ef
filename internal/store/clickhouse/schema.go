package clickhouse

import (
	"context"
	"fmt"
	"strings"
)

// schemaVersion is the newest migration this build knows.
const schemaVersion = 6

// upTo is the version migrations stop at: schemaVersion, except in the
// test of an upgrade, which makes a store of an older schema first.
var upTo = schemaVersion

// table is one table of the schema. With a cluster it is created as
// NAME_local on every shard, with NAME a Distributed table over them.
type table struct {
	name    string
	cols    string
	engine  string
	part    string // PARTITION BY
	order   string // ORDER BY
	shard   string // sharding key of the Distributed table
	feeds   []view // materialised views reading this table
	rollups bool   // an AggregatingMergeTree kept by views
	// backfill, for a rollup added to a schema that holds rows: the
	// SELECT (one %s: the table it reads, from) that fills it once.
	backfill, from string
	// rebuild: the table exists and is made again with this definition
	// (its rows copied, its views dropped and made again).
	rebuild  bool
	settings string // SETTINGS
}

// view is a materialised view from one table into a rollup.
type view struct {
	name, into, sel string
}

const month = "toYYYYMM(toDateTime(h * 3600))"

// byDay partitions detail rows by UTC day (migration 4): a newest-first
// read of the last hours touches only the parts of the last days.
const byDay = "intDiv(h, 24)"

// sums are the aggregate columns of traffic rollups.
const aggTraffic = "bo AggregateFunction(sum, UInt64), bi AggregateFunction(sum, UInt64), po AggregateFunction(sum, UInt64), " +
	"pi AggregateFunction(sum, UInt64), n AggregateFunction(sum, UInt64), first AggregateFunction(min, Int64), last AggregateFunction(max, Int64)"

const stateTraffic = "sumState(bo) AS bo, sumState(bi) AS bi, sumState(po) AS po, sumState(pi) AS pi, sumState(n) AS n, minState(first) AS first, maxState(last) AS last"

// migrations: each entry is the tables a version adds or rebuilds.
// Version 1 is the whole first schema; version 2 remembers ingested
// inputs; version 3 keeps the sensor's alerts and the ways devices got
// around the resolver (as SQLite's migrations 4 and 5); version 4 adds
// daily rollups and partitions detail rows by day; version 5 keeps the
// policy's history and 6 the dashboard's upload jobs. A rebuild copies the
// table's rows: run it (outflow store migrate) with the writers stopped,
// or rows they write meanwhile may miss the copy or the daily rollups.
var migrations = [][]table{1: {
	{name: "sym", cols: "s String, seq Int64", engine: "ReplacingMergeTree", order: "s", shard: "cityHash64(s)"},
	{name: "names", cols: "name String, rname String", engine: "ReplacingMergeTree", order: "rname", shard: "cityHash64(name)"},
	{name: "ent_v", cols: "seq Int64, key String, name String, jur String, reg String, chain String, lists String, kind String, unverified String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "dev_v", cols: "seq Int64, key String, mac String, name String, vendor String, grp String, owner String, platform String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "rule_v", cols: "seq Int64, key String, seen UInt8, action String, basis String, deadline Int64, groups String, entities String, lists String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "flow", cols: flowCols, engine: "MergeTree", part: month, order: "(dev, h)", shard: "cityHash64(dev)", feeds: flowViews[:3]},
	{name: "query", cols: queryCols, engine: "MergeTree", part: month, order: "(dev, h)", shard: "cityHash64(dev)", feeds: queryViews[:2]},
	{name: "flow_h", cols: "h Int64, dev String, ent String, role String, " + aggTraffic, engine: "AggregatingMergeTree", part: month,
		order: "(h, dev, ent, role)", shard: "cityHash64(dev)", rollups: true},
	{name: "host_h", cols: "h Int64, ent String, host String, hc String, " + aggTraffic, engine: "AggregatingMergeTree", part: month,
		order: "(h, ent, host, hc)", shard: "cityHash64(host)", rollups: true},
	{name: "query_h", cols: "h Int64, dev String, grp String, rule String, ent String, verdict String, n AggregateFunction(sum, UInt64), " +
		"first AggregateFunction(min, Int64), last AggregateFunction(max, Int64)", engine: "AggregatingMergeTree", part: month,
		order: "(h, dev, grp, rule, ent, verdict)", shard: "cityHash64(dev)", rollups: true},
	{name: "name_d", cols: "d Int64, name String, ent String, bo AggregateFunction(sum, UInt64), bi AggregateFunction(sum, UInt64), " +
		"po AggregateFunction(sum, UInt64), pi AggregateFunction(sum, UInt64), n AggregateFunction(sum, UInt64), q AggregateFunction(sum, UInt64), " +
		"qb AggregateFunction(sum, UInt64), last AggregateFunction(max, Int64)", engine: "AggregatingMergeTree",
		part: "toYYYYMM(toDateTime(d * 86400))", order: "(d, ent, name)", shard: "cityHash64(name)", rollups: true},
	{name: "evidence", cols: "dev String, ent String, kind String, value String, rule String, source String, first Int64, last Int64, seq Int64",
		engine: "MergeTree", order: "(dev, ent, kind, value)", shard: "cityHash64(dev)"},
	{name: "audit", cols: "id Int64, t Int64, dev String, app String, version String, label String, sha256 String, signer String, ent String, " +
		"verdict String, source String, nfind UInt32, sev String, fent String",
		engine: "MergeTree", order: "(t, id)", shard: "id"},
	{name: "finding", cols: "audit Int64, seq UInt32, rule String, severity String, category String, title String, ent String, evidence String",
		engine: "MergeTree", order: "(audit, seq)", shard: "audit"},
	{name: "inventory_v", cols: "dev String, app String, grp String, version String, ent String, verdict String, rule String, seen Int64, source String, seq Int64",
		engine: "MergeTree", order: "(dev, app, seen)", shard: "cityHash64(dev)"},
	{name: "batches", cols: "id String, at Int64, rows UInt64", engine: "ReplacingMergeTree", order: "id", shard: "cityHash64(id)"},
}, 2: {
	{name: "ingest", cols: "seq Int64, path String, size Int64, head String, tail String, first Int64, last Int64, at Int64",
		engine: "MergeTree", order: "(size, head, seq)", shard: "cityHash64(head)"},
}, 3: {
	{name: "alert", cols: "id Int64, t Int64, kind String, site String, dev String, ent String, ent_name String, jur String, rule String, " +
		"deadline Int64, evidence String, bytes UInt64, summary String",
		engine: "MergeTree", part: "toYYYYMM(toDateTime(intDiv(t, 1000)))", order: "(t, id)", shard: "cityHash64(dev)"},
	// one row per write; a read sums a device's rows of one kind, peer,
	// port and proto, and takes the facts of the newest (last, seq)
	{name: "bypass", cols: "dev String, kind String, peer String, port UInt16, proto String, name String, service String, owner String, " +
		"owner_name String, evidence String, n UInt64, bo UInt64, bi UInt64, first Int64, last Int64, source String, seq Int64",
		engine: "MergeTree", order: "(dev, kind, peer, port, proto)", shard: "cityHash64(dev)"},
}, 4: {
	// Daily rollups beside the hourly ones, for periods of whole days
	// (a month is 30 rows a key instead of 720), filled from the hourly
	// ones once and then by their own views.
	{name: "flow_d", cols: "d Int64, dev String, ent String, role String, " + aggTraffic, engine: "AggregatingMergeTree", part: monthOfDay,
		order: "(d, dev, ent, role)", shard: "cityHash64(dev)", rollups: true, from: "flow_h",
		backfill: "SELECT intDiv(h, 24) AS d, dev, ent, role, " + mergeTraffic + " FROM %s GROUP BY d, dev, ent, role"},
	{name: "host_d", cols: "d Int64, ent String, host String, hc String, " + aggTraffic, engine: "AggregatingMergeTree", part: monthOfDay,
		order: "(d, ent, host, hc)", shard: "cityHash64(host)", rollups: true, from: "host_h",
		backfill: "SELECT intDiv(h, 24) AS d, ent, host, hc, " + mergeTraffic + " FROM %s GROUP BY d, ent, host, hc"},
	{name: "query_d", cols: "d Int64, dev String, grp String, rule String, ent String, verdict String, n AggregateFunction(sum, UInt64), " +
		"first AggregateFunction(min, Int64), last AggregateFunction(max, Int64)", engine: "AggregatingMergeTree", part: monthOfDay,
		order: "(d, dev, grp, rule, ent, verdict)", shard: "cityHash64(dev)", rollups: true, from: "query_h",
		backfill: "SELECT intDiv(h, 24) AS d, dev, grp, rule, ent, verdict, sumMergeState(n) AS n, minMergeState(first) AS first, " +
			"maxMergeState(last) AS last FROM %s GROUP BY d, dev, grp, rule, ent, verdict"},
	// Detail rows partitioned by day instead of month: the newest rows
	// of a month are found without reading the month. Granules of 1,024
	// rows instead of 8,192: a device has a few hundred rows a day in
	// each part, and the newest rows of a page are fetched by device and
	// hour, so smaller granules read several times fewer rows.
	{name: "flow", cols: flowCols, engine: "MergeTree", part: byDay, order: "(dev, h)", shard: "cityHash64(dev)", feeds: flowViews, rebuild: true,
		settings: detailGranules},
	{name: "query", cols: queryCols, engine: "MergeTree", part: byDay, order: "(dev, h)", shard: "cityHash64(dev)", feeds: queryViews, rebuild: true,
		settings: detailGranules},
}, 5: policyLogTables, 6: uploadLogTables}

const detailGranules = "index_granularity = 1024"

const monthOfDay = "toYYYYMM(toDateTime(d * 86400))"

const mergeTraffic = "sumMergeState(bo) AS bo, sumMergeState(bi) AS bi, sumMergeState(po) AS po, sumMergeState(pi) AS pi, " +
	"sumMergeState(n) AS n, minMergeState(first) AS first, maxMergeState(last) AS last"

const (
	flowCols = "h Int64, first Int64, last Int64, dev String, grp String, proto String, peer String, port UInt16, name String, " +
		"ent String, role String, host String, hc String, verdict String, rule String, source String, " +
		"bo UInt64, bi UInt64, po UInt64, pi UInt64, n UInt64, ord Int64, batch String"
	queryCols = "t Int64, h Int64, dev String, grp String, proto String, name String, typ UInt16, rcode UInt16, verdict String, " +
		"rule String, ent String, reason String, deadline Int64, latency_us UInt64, cached UInt8, ord Int64, batch String"
)

// flowViews and queryViews keep the rollups from the detail rows: the
// first three and two since migration 1, the daily ones since 4.
var (
	flowViews = []view{
		{"flow_h_mv", "flow_h", "SELECT h, dev, ent, role, " + stateTraffic + " FROM %s GROUP BY h, dev, ent, role"},
		{"host_h_mv", "host_h", "SELECT h, ent, host, hc, " + stateTraffic + " FROM %s GROUP BY h, ent, host, hc"},
		{"name_d_flow_mv", "name_d", "SELECT intDiv(h, 24) AS d, name, ent, sumState(bo) AS bo, sumState(bi) AS bi, sumState(po) AS po, " +
			"sumState(pi) AS pi, sumState(n) AS n, sumState(toUInt64(0)) AS q, sumState(toUInt64(0)) AS qb, maxState(last) AS last " +
			"FROM %s WHERE name != '' AND ent != '' GROUP BY d, name, ent"},
		{"flow_d_mv", "flow_d", "SELECT intDiv(h, 24) AS d, dev, ent, role, " + stateTraffic + " FROM %s GROUP BY d, dev, ent, role"},
		{"host_d_mv", "host_d", "SELECT intDiv(h, 24) AS d, ent, host, hc, " + stateTraffic + " FROM %s GROUP BY d, ent, host, hc"},
	}
	queryViews = []view{
		{"query_h_mv", "query_h", "SELECT h, dev, grp, rule, ent, verdict, sumState(toUInt64(1)) AS n, minState(t) AS first, maxState(t) AS last FROM %s GROUP BY h, dev, grp, rule, ent, verdict"},
		{"name_d_query_mv", "name_d", "SELECT intDiv(h, 24) AS d, name, ent, sumState(toUInt64(0)) AS bo, sumState(toUInt64(0)) AS bi, sumState(toUInt64(0)) AS po, " +
			"sumState(toUInt64(0)) AS pi, sumState(toUInt64(0)) AS n, sumState(toUInt64(1)) AS q, sumState(toUInt64(verdict = 'block')) AS qb, maxState(t) AS last " +
			"FROM %s WHERE name != '' AND ent != '' GROUP BY d, name, ent"},
		{"query_d_mv", "query_d", "SELECT intDiv(h, 24) AS d, dev, grp, rule, ent, verdict, sumState(toUInt64(1)) AS n, minState(t) AS first, maxState(t) AS last " +
			"FROM %s GROUP BY d, dev, grp, rule, ent, verdict"},
	}
)

// ddl is the statements that create t in database db: the table (local
// with a cluster), its Distributed table, then its views.
func (t table) ddl(db, cluster string) []string {
	local := t.name
	if cluster != "" {
		local += "_local"
	}
	var out []string
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (%s) ENGINE = %s", db, local, t.cols, t.engine)
	if t.part != "" {
		q += " PARTITION BY " + t.part
	}
	q += " ORDER BY " + t.order
	if t.settings != "" {
		q += " SETTINGS " + t.settings
	}
	out = append(out, q)
	if cluster != "" {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s ENGINE = Distributed(%s, %s, %s, %s)",
			db, t.name, db, local, cluster, db, local, t.shard))
	}
	for _, v := range t.feeds {
		into := v.into
		if cluster != "" {
			into += "_local"
		}
		out = append(out, fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s TO %s.%s AS %s", db, v.name, db, into,
			fmt.Sprintf(v.sel, db+"."+local)))
	}
	return out
}

// migrate brings database db on one server (a shard, with a cluster) up
// to schemaVersion. Rollup tables are created before the tables whose
// views feed them.
func (d *DB) migrate(ctx context.Context, ex func(ctx context.Context, q string) error, query func(ctx context.Context, q string) (int, error), where string) (int, error) {
	db := d.cfg.Database
	if err := ex(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return 0, err
	}
	if err := ex(ctx, "CREATE TABLE IF NOT EXISTS "+db+".schema_migrations (version UInt32, at Int64) ENGINE = MergeTree ORDER BY version"); err != nil {
		return 0, err
	}
	have, err := query(ctx, "SELECT toInt32(max(version)) FROM "+db+".schema_migrations")
	if err != nil {
		return 0, err
	}
	if have > schemaVersion {
		return have, fmt.Errorf("clickhouse: %s: schema version %d is newer than this build's %d: upgrade outflow", where, have, schemaVersion)
	}
	for v := have + 1; v <= upTo; v++ {
		ts := migrations[v]
		for pass := range 2 {
			for _, t := range ts {
				if t.rollups != (pass == 0) {
					continue
				}
				var err error
				if t.rebuild {
					err = d.rebuild(ctx, ex, query, t)
				} else {
					err = d.create(ctx, ex, query, t)
				}
				if err != nil {
					return have, fmt.Errorf("clickhouse: %s: migration %d: %w", where, v, err)
				}
			}
		}
		if err := ex(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, at) SELECT %d, toInt64(now()) * 1000", db, v)); err != nil {
			return have, fmt.Errorf("clickhouse: %s: migration %d: %w", where, v, err)
		}
		d.log.Info("clickhouse: migrated", "server", where, "database", db, "version", v)
		have = v
	}
	return have, nil
}

// create makes t, and fills it from its source when it is a rollup
// added later and still empty.
func (d *DB) create(ctx context.Context, ex func(ctx context.Context, q string) error, query func(ctx context.Context, q string) (int, error), t table) error {
	for _, q := range t.ddl(d.cfg.Database, d.cfg.Cluster) {
		if err := ex(ctx, q); err != nil {
			return err
		}
	}
	if t.backfill == "" {
		return nil
	}
	local := d.local(t.name)
	n, err := query(ctx, "SELECT toInt32(count() > 0) FROM "+d.t(local))
	if err != nil || n > 0 {
		return err
	}
	cols := columnNames(t.cols)
	return ex(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM (%s)", d.t(local), cols, cols, fmt.Sprintf(t.backfill, d.t(d.local(t.from)))))
}

// rebuild makes t again under its name: a new table with t's definition
// gets the old one's rows, the old one's views are dropped, the two are
// swapped and t's views made. Each step can be run again after a crash:
// a copy left half done is dropped and made again; once the swap is
// done (the old table is there under its old name) only the views and
// the drop remain.
func (d *DB) rebuild(ctx context.Context, ex func(ctx context.Context, q string) error, query func(ctx context.Context, q string) (int, error), t table) error {
	db, local := d.cfg.Database, d.local(t.name)
	exists := func(name string) (bool, error) {
		n, err := query(ctx, "SELECT toInt32(count()) FROM system.tables WHERE database = "+quote(db)+" AND name = "+quote(name))
		return n > 0, err
	}
	neu, old := local+"_rebuilt", local+"_old"
	swapped, err := exists(old)
	if err != nil {
		return err
	}
	var steps []string
	if swapped {
		have, err := exists(local)
		if err != nil {
			return err
		}
		if !have {
			steps = append(steps, "RENAME TABLE "+d.t(neu)+" TO "+d.t(local))
		}
	} else {
		cols := columnNames(t.cols)
		steps = append(steps, "DROP TABLE IF EXISTS "+d.t(neu),
			strings.Replace(t.ddl(d.cfg.Database, "")[0], "CREATE TABLE IF NOT EXISTS "+d.t(t.name)+" ", "CREATE TABLE "+d.t(neu)+" ", 1),
			fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", d.t(neu), cols, cols, d.t(local)))
		for _, v := range t.feeds {
			steps = append(steps, "DROP TABLE IF EXISTS "+d.t(v.name))
		}
		steps = append(steps, "RENAME TABLE "+d.t(local)+" TO "+d.t(old)+", "+d.t(neu)+" TO "+d.t(local))
	}
	for _, v := range t.feeds {
		steps = append(steps, fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s AS %s", d.t(v.name), d.t(d.local(v.into)),
			fmt.Sprintf(v.sel, d.t(local))))
	}
	steps = append(steps, "DROP TABLE IF EXISTS "+d.t(old))
	for _, q := range steps {
		if err := ex(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// local is the name of table name on one server: NAME_local with a
// cluster.
func (d *DB) local(name string) string {
	if d.cfg.Cluster != "" {
		return name + "_local"
	}
	return name
}

// columnNames is the names of a column definition list.
func columnNames(cols string) string {
	var names []string
	depth, start := 0, 0
	for i := 0; i <= len(cols); i++ {
		switch {
		case i == len(cols) || cols[i] == ',' && depth == 0:
			names = append(names, strings.Fields(cols[start:i])[0])
			start = i + 1
		case cols[i] == '(':
			depth++
		case cols[i] == ')':
			depth--
		}
	}
	return strings.Join(names, ", ")
}
