// Package clickhouse is the store for more than one machine: flows, DNS
// queries, audits and inventories in a ClickHouse server or cluster
// (github.com/ClickHouse/clickhouse-go/v2, native protocol), behind the
// same store.Writer and store.Reader as the embedded SQLite store, and
// giving the same answers for the same data.
//
// Layout. Detail rows go to MergeTree tables partitioned by day and
// ordered by device and hour; the engine keeps the rollups the dashboard
// reads (materialised views into AggregatingMergeTree tables: per device,
// entity and role; per entity and hosting network; per client, group,
// rule, entity and verdict; each per hour and per day; names of entities
// of concern per day). Dimension rows (entities, devices, rules, inventory)
// are appended with a sequence number and folded at read time ("the last
// non-empty value wins"), which is how the SQLite store's upserts behave.
// The readers reproduce the SQLite store's algorithms over these tables
// (periods widened to whole hours, or whole UTC days past 48 hours) so
// that the dashboard cannot tell the two apart.
//
// SQL is written for both Debian's ClickHouse 18.16 and current
// releases: no DateTime64 (times are Int64 Unix milliseconds), no
// SimpleAggregateFunction, no TTL on servers older than 19.6, explicit
// column lists on every insert. docs/store.md lists what was avoided.
//
// It must never import a command, renderer or pipeline package, nor the
// SQLite store: it turns store rows into ClickHouse rows and back.
package clickhouse
