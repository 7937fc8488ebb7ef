package clickhouse

import (
	"context"
	"fmt"
)

// schemaVersion is the newest migration this build knows.
const schemaVersion = 3

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
}

// view is a materialised view from one table into a rollup.
type view struct {
	name, into, sel string
}

const month = "toYYYYMM(toDateTime(h * 3600))"

// sums are the aggregate columns of traffic rollups.
const aggTraffic = "bo AggregateFunction(sum, UInt64), bi AggregateFunction(sum, UInt64), po AggregateFunction(sum, UInt64), " +
	"pi AggregateFunction(sum, UInt64), n AggregateFunction(sum, UInt64), first AggregateFunction(min, Int64), last AggregateFunction(max, Int64)"

const stateTraffic = "sumState(bo) AS bo, sumState(bi) AS bi, sumState(po) AS po, sumState(pi) AS pi, sumState(n) AS n, minState(first) AS first, maxState(last) AS last"

// migrations: each entry is the tables a version adds. Version 1 is the
// whole first schema; version 2 remembers ingested inputs; version 3
// keeps the sensor's alerts and the ways devices got around the resolver
// (as SQLite's migrations 4 and 5).
var migrations = [][]table{1: {
	{name: "sym", cols: "s String, seq Int64", engine: "ReplacingMergeTree", order: "s", shard: "cityHash64(s)"},
	{name: "names", cols: "name String, rname String", engine: "ReplacingMergeTree", order: "rname", shard: "cityHash64(name)"},
	{name: "ent_v", cols: "seq Int64, key String, name String, jur String, reg String, chain String, lists String, kind String, unverified String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "dev_v", cols: "seq Int64, key String, mac String, name String, vendor String, grp String, owner String, platform String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "rule_v", cols: "seq Int64, key String, seen UInt8, action String, basis String, deadline Int64, groups String, entities String, lists String",
		engine: "MergeTree", order: "(key, seq)", shard: "cityHash64(key)"},
	{name: "flow", cols: "h Int64, first Int64, last Int64, dev String, grp String, proto String, peer String, port UInt16, name String, " +
		"ent String, role String, host String, hc String, verdict String, rule String, source String, " +
		"bo UInt64, bi UInt64, po UInt64, pi UInt64, n UInt64, ord Int64, batch String",
		engine: "MergeTree", part: month, order: "(dev, h)", shard: "cityHash64(dev)", feeds: []view{
			{"flow_h_mv", "flow_h", "SELECT h, dev, ent, role, " + stateTraffic + " FROM %s GROUP BY h, dev, ent, role"},
			{"host_h_mv", "host_h", "SELECT h, ent, host, hc, " + stateTraffic + " FROM %s GROUP BY h, ent, host, hc"},
			{"name_d_flow_mv", "name_d", "SELECT intDiv(h, 24) AS d, name, ent, sumState(bo) AS bo, sumState(bi) AS bi, sumState(po) AS po, " +
				"sumState(pi) AS pi, sumState(n) AS n, sumState(toUInt64(0)) AS q, sumState(toUInt64(0)) AS qb, maxState(last) AS last " +
				"FROM %s WHERE name != '' AND ent != '' GROUP BY d, name, ent"},
		}},
	{name: "query", cols: "t Int64, h Int64, dev String, grp String, proto String, name String, typ UInt16, rcode UInt16, verdict String, " +
		"rule String, ent String, reason String, deadline Int64, latency_us UInt64, cached UInt8, ord Int64, batch String",
		engine: "MergeTree", part: month, order: "(dev, h)", shard: "cityHash64(dev)", feeds: []view{
			{"query_h_mv", "query_h", "SELECT h, dev, grp, rule, ent, verdict, sumState(toUInt64(1)) AS n, minState(t) AS first, maxState(t) AS last FROM %s GROUP BY h, dev, grp, rule, ent, verdict"},
			{"name_d_query_mv", "name_d", "SELECT intDiv(h, 24) AS d, name, ent, sumState(toUInt64(0)) AS bo, sumState(toUInt64(0)) AS bi, sumState(toUInt64(0)) AS po, " +
				"sumState(toUInt64(0)) AS pi, sumState(toUInt64(0)) AS n, sumState(toUInt64(1)) AS q, sumState(toUInt64(verdict = 'block')) AS qb, maxState(t) AS last " +
				"FROM %s WHERE name != '' AND ent != '' GROUP BY d, name, ent"},
		}},
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
}}

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
	for v := have + 1; v <= schemaVersion; v++ {
		ts := migrations[v]
		for pass := range 2 {
			for _, t := range ts {
				if t.rollups != (pass == 0) {
					continue
				}
				for _, q := range t.ddl(db, d.cfg.Cluster) {
					if err := ex(ctx, q); err != nil {
						return have, fmt.Errorf("clickhouse: %s: migration %d: %w", where, v, err)
					}
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
