package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order at start-up; PRAGMA user_version is the
// number applied. Never edit one that has shipped: append another.
//
// Time columns: h is hours since the Unix epoch, d days; first, last, t
// and seen are Unix milliseconds. Counters: bo, bi (bytes out and in), po,
// pi (packets), n (flows or queries).
var migrations = []string{
	// 1: the schema.
	`
CREATE TABLE sym (id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
CREATE TABLE name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, rname TEXT NOT NULL);
CREATE INDEX name_rname ON name(rname);
CREATE TABLE dev (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, mac TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '', vendor TEXT NOT NULL DEFAULT '', grp TEXT NOT NULL DEFAULT '',
	owner TEXT NOT NULL DEFAULT '', platform TEXT NOT NULL DEFAULT '');
CREATE TABLE ent (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',
	jurisdiction TEXT NOT NULL DEFAULT '', chain TEXT NOT NULL DEFAULT '', lists TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT '');
CREATE TABLE rule (key TEXT PRIMARY KEY, action TEXT NOT NULL DEFAULT '', basis TEXT NOT NULL DEFAULT '',
	deadline INTEGER NOT NULL DEFAULT 0, groups TEXT NOT NULL DEFAULT '', entities TEXT NOT NULL DEFAULT '',
	lists TEXT NOT NULL DEFAULT '') WITHOUT ROWID;

-- detail rows, in segments (seg.go)
CREATE TABLE flow_seg (id INTEGER PRIMARY KEY, dev INTEGER NOT NULL, h INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX flow_seg_dev ON flow_seg(dev, h);
CREATE INDEX flow_seg_h ON flow_seg(h);
CREATE TABLE query_seg (id INTEGER PRIMARY KEY, dev INTEGER NOT NULL, h INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX query_seg_dev ON query_seg(dev, h);
CREATE INDEX query_seg_h ON query_seg(h);

-- flows per device x entity x role x hour; and per day, packed by blocks
-- of 32 days (one row per key and block, the days in data: blocks.go)
CREATE TABLE flow_h (h INTEGER NOT NULL, dev INTEGER NOT NULL, ent INTEGER NOT NULL, role INTEGER NOT NULL,
	bo INTEGER NOT NULL, bi INTEGER NOT NULL, po INTEGER NOT NULL, pi INTEGER NOT NULL, n INTEGER NOT NULL,
	first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (h, dev, ent, role)) WITHOUT ROWID;
CREATE TABLE flow_m (m INTEGER NOT NULL, dev INTEGER NOT NULL, ent INTEGER NOT NULL, role INTEGER NOT NULL,
	data BLOB NOT NULL, PRIMARY KEY (m, dev, ent, role)) WITHOUT ROWID;
CREATE INDEX flow_m_dev ON flow_m(dev, m);
-- flows per entity x hosting network x hour, and per day (overview, maps, trend)
CREATE TABLE host_h (h INTEGER NOT NULL, ent INTEGER NOT NULL, host INTEGER NOT NULL, hc INTEGER NOT NULL,
	bo INTEGER NOT NULL, bi INTEGER NOT NULL, po INTEGER NOT NULL, pi INTEGER NOT NULL, n INTEGER NOT NULL,
	PRIMARY KEY (h, ent, host, hc)) WITHOUT ROWID;
CREATE TABLE host_d (d INTEGER NOT NULL, ent INTEGER NOT NULL, host INTEGER NOT NULL, hc INTEGER NOT NULL,
	bo INTEGER NOT NULL, bi INTEGER NOT NULL, po INTEGER NOT NULL, pi INTEGER NOT NULL, n INTEGER NOT NULL,
	PRIMARY KEY (d, ent, host, hc)) WITHOUT ROWID;
-- queries per client x group x rule x entity x verdict x hour; and per
-- day, packed by blocks of 32 days
CREATE TABLE query_h (h INTEGER NOT NULL, dev INTEGER NOT NULL, grp INTEGER NOT NULL, rule INTEGER NOT NULL,
	ent INTEGER NOT NULL, verdict INTEGER NOT NULL, n INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
	PRIMARY KEY (h, dev, grp, rule, ent, verdict)) WITHOUT ROWID;
CREATE TABLE query_m (m INTEGER NOT NULL, dev INTEGER NOT NULL, grp INTEGER NOT NULL, rule INTEGER NOT NULL,
	ent INTEGER NOT NULL, verdict INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (m, dev, grp, rule, ent, verdict)) WITHOUT ROWID;
CREATE INDEX query_m_dev ON query_m(dev, m);
-- names per day: traffic from flows, counts from queries
CREATE TABLE name_d (d INTEGER NOT NULL, name INTEGER NOT NULL, ent INTEGER NOT NULL,
	bo INTEGER NOT NULL, bi INTEGER NOT NULL, po INTEGER NOT NULL, pi INTEGER NOT NULL, n INTEGER NOT NULL,
	q INTEGER NOT NULL, qb INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (d, name, ent)) WITHOUT ROWID;
CREATE INDEX name_d_name ON name_d(name, d);
CREATE INDEX name_d_ent ON name_d(ent, d) WHERE ent != 0;
-- the hours each name was seen in a flow or asked in a query (bit i of
-- hours: hour i of day d): where to look for the detail rows of a name
CREATE TABLE name_day (name INTEGER NOT NULL, d INTEGER NOT NULL, hours INTEGER NOT NULL, PRIMARY KEY (name, d)) WITHOUT ROWID;
-- and the first devices (up to nameDevs) that saw or asked for it that day
CREATE TABLE name_dev (name INTEGER NOT NULL, d INTEGER NOT NULL, dev INTEGER NOT NULL, PRIMARY KEY (name, d, dev)) WITHOUT ROWID;

-- evidence per device x entity
CREATE TABLE evidence (dev INTEGER NOT NULL, ent INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
	rule TEXT NOT NULL, source TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
	PRIMARY KEY (dev, ent, kind, value)) WITHOUT ROWID;

CREATE TABLE audit (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, dev INTEGER NOT NULL, app TEXT NOT NULL,
	version TEXT NOT NULL, label TEXT NOT NULL, sha256 TEXT NOT NULL, signer TEXT NOT NULL, ent INTEGER NOT NULL,
	verdict TEXT NOT NULL, source TEXT NOT NULL, nfind INTEGER NOT NULL, sev TEXT NOT NULL);
CREATE INDEX audit_t ON audit(t);
CREATE INDEX audit_app ON audit(app);
CREATE TABLE finding (audit INTEGER NOT NULL, seq INTEGER NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
	category TEXT NOT NULL, title TEXT NOT NULL, ent INTEGER NOT NULL, evidence TEXT NOT NULL,
	PRIMARY KEY (audit, seq)) WITHOUT ROWID;

CREATE TABLE inventory (dev INTEGER NOT NULL, app INTEGER NOT NULL, grp INTEGER NOT NULL, version TEXT NOT NULL,
	ent INTEGER NOT NULL, verdict INTEGER NOT NULL, rule INTEGER NOT NULL, first INTEGER NOT NULL,
	seen INTEGER NOT NULL, source INTEGER NOT NULL, PRIMARY KEY (dev, app)) WITHOUT ROWID;
CREATE INDEX inventory_seen ON inventory(seen);
CREATE INDEX inventory_ent ON inventory(ent) WHERE ent != 0;
CREATE INDEX inventory_rule ON inventory(rule, verdict) WHERE rule != 0;
CREATE INDEX inventory_verdict ON inventory(verdict, seen);

-- counters kept at ingest: flows, queries; pruned_h is the hour before
-- which detail rows were pruned
CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('flows', 0), ('queries', 0), ('pruned_h', 0), ('pruned_rollup_d', 0);
`,
	// 2: the inputs ingested (captures, logs, flow exports), by
	// fingerprint, so that none is counted twice (ingest.go). A row is
	// written in the transaction that stores the input's rows.
	`
CREATE TABLE ingest (id INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, head TEXT NOT NULL,
	tail TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX ingest_fp ON ingest(size, head, tail);
`,
	// 3: an entity's registered jurisdiction beside the controlling one,
	// and which of its list entries are unverified; inventory rows keep
	// fleet check's own words (overdue, compliant), not the resolver's.
	`
ALTER TABLE ent ADD COLUMN reg TEXT NOT NULL DEFAULT '';
ALTER TABLE ent ADD COLUMN unverified TEXT NOT NULL DEFAULT '';
INSERT OR IGNORE INTO sym(s) VALUES ('overdue'), ('compliant');
UPDATE inventory SET verdict = (SELECT id FROM sym WHERE s = 'overdue') WHERE verdict IN (SELECT id FROM sym WHERE s = 'block');
UPDATE inventory SET verdict = (SELECT id FROM sym WHERE s = 'compliant') WHERE verdict IN (SELECT id FROM sym WHERE s = 'allow');
`,
	// 4: the sensor's alerts (alerts.go): few rows, so plain text columns
	// rather than the dictionaries; t and deadline in Unix milliseconds.
	`
CREATE TABLE alert (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, kind TEXT NOT NULL, site TEXT NOT NULL,
	device TEXT NOT NULL, entity TEXT NOT NULL, entity_name TEXT NOT NULL, jurisdiction TEXT NOT NULL,
	rule TEXT NOT NULL, deadline INTEGER NOT NULL, evidence TEXT NOT NULL, bytes INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE INDEX alert_t ON alert(t);
`,
	// 5: the ways around the resolver a scan found per device
	// (bypass.go): few rows, plain text columns; evidence is JSON.
	`
CREATE TABLE bypass (device TEXT NOT NULL, kind TEXT NOT NULL, peer TEXT NOT NULL, port INTEGER NOT NULL, proto TEXT NOT NULL,
	name TEXT NOT NULL, service TEXT NOT NULL, owner TEXT NOT NULL, owner_name TEXT NOT NULL, evidence TEXT NOT NULL,
	n INTEGER NOT NULL, bo INTEGER NOT NULL, bi INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
	source TEXT NOT NULL, PRIMARY KEY (device, kind, peer, port, proto)) WITHOUT ROWID;
CREATE INDEX bypass_last ON bypass(last);
CREATE INDEX bypass_owner ON bypass(owner) WHERE owner != '';
`,
	// 6: the policy's changes made through the dashboard (policylog.go):
	// who, when, why, the file before and after and their diff.
	`
CREATE TABLE policy_change (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, user TEXT NOT NULL, comment TEXT NOT NULL,
	file TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, diff TEXT NOT NULL, reverts INTEGER NOT NULL);
CREATE INDEX policy_change_t ON policy_change(t);
`,
	// 7: the segments whose rollups wait in a writer's memory, as id
	// ranges (rollup.go), instead of one mark per table that assumed a
	// single writing process; what was past the marks is pending.
	`
CREATE TABLE seg_pending (tbl TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, PRIMARY KEY (tbl, lo)) WITHOUT ROWID;
INSERT INTO seg_pending(tbl, lo, hi)
	SELECT 'flow', m + 1, x FROM (SELECT coalesce((SELECT v FROM meta WHERE k = 'rolled_flow'), 0) AS m,
		(SELECT coalesce(max(id), 0) FROM flow_seg) AS x) WHERE x > m;
INSERT INTO seg_pending(tbl, lo, hi)
	SELECT 'query', m + 1, x FROM (SELECT coalesce((SELECT v FROM meta WHERE k = 'rolled_query'), 0) AS m,
		(SELECT coalesce(max(id), 0) FROM query_seg) AS x) WHERE x > m;
DELETE FROM meta WHERE k IN ('rolled_flow', 'rolled_query');
`,
	// 8: the dashboard's app uploads and where their audits stand
	// (uploadlog.go), so that a job outlives the dashboard's process.
	`
CREATE TABLE upload_job (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
	size INTEGER NOT NULL, state TEXT NOT NULL, error TEXT NOT NULL, path TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX upload_job_t ON upload_job(t);
`,
}

// schemaVersion is the version this build writes.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion. A store written by a newer
// build is refused rather than misread.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlite: %s: read schema version: %w", path, err)
	}
	if v > schemaVersion {
		return newerError(path, v)
	}
	for ; v < schemaVersion; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: %s: migration %d: %w", path, v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: %s: migration %d: %w", path, v+1, err)
		}
		// PRAGMA takes no parameters; v+1 is our own integer.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: %s: migration %d: %w", path, v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: %s: migration %d: %w", path, v+1, err)
		}
	}
	return nil
}

// newerError is the one message for a store written by a newer build,
// whether it is opened to write or to read: migrating cannot help, only a
// newer outflow can.
func newerError(path string, v int) error {
	return fmt.Errorf("sqlite: %s: schema version %d is newer than this build's %d: upgrade outflow", path, v, schemaVersion)
}

// readable says whether a read-only open can read a store at schema
// version v. An older store needs its migrations, which only a read-write
// open applies; a newer one needs a newer build.
func readable(path string, v int) error {
	switch {
	case v > schemaVersion:
		return newerError(path, v)
	case v < schemaVersion:
		return fmt.Errorf("sqlite: %s: schema version %d is older than this build's %d: open it once read-write to migrate (outflow scan --store or outflow serve)", path, v, schemaVersion)
	}
	return nil
}
