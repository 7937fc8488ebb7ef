package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/spool"
)

// DB is a ClickHouse store: a store.Store.
type DB struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	conn driver.Conn
	ver  [2]int // server major, minor

	wmu    sync.Mutex // one Write at a time: caches and sequence numbers
	cache  *cache
	spare  map[string]*tab // columns of the last batch, reused
	seq    int64           // last sequence number handed out
	auditN int64           // last audit ID
	alertN int64           // last alert ID

	sp         *spool.Spool // nil: no spool, a write while the server is away fails
	dmu        sync.Mutex   // one drain at a time
	kick       chan struct{}
	stop       context.CancelFunc
	stopped    chan struct{}
	warned     atomic.Int64 // batches spooled since the last warning
	replayWarn atomic.Int64
	pstop      context.CancelFunc // the pruner
	pdone      chan struct{}

	m *metrics
}

var _ store.Store = (*DB)(nil)

type metrics struct {
	reg                       *prometheus.Registry
	batches, rows, errs, byts prometheus.Counter
	spooled, spoolFull        prometheus.Counter
	replayed, replayErrs      prometheus.Counter
	replaySkipped             prometheus.Counter
	pruned, prunedParts       prometheus.Counter
	pruneErrs                 prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	c := func(name, help string) prometheus.Counter {
		x := prometheus.NewCounter(prometheus.CounterOpts{Name: "outflow_clickhouse_" + name, Help: help})
		m.reg.MustRegister(x)
		return x
	}
	m.batches = c("batches_total", "Batches written.")
	m.rows = c("rows_total", "Rows written (flows, queries, audits, inventory, dimension rows).")
	m.errs = c("write_errors_total", "Writes that failed.")
	m.byts = c("queries_total", "Read queries run.")
	m.spooled = c("spooled_batches_total", "Batches written to the spool (server unreachable, or older batches waiting).")
	m.spoolFull = c("spool_full_total", "Batches refused because the spool was full (the caller got an error).")
	m.replayed = c("replayed_batches_total", "Spooled batches delivered.")
	m.replayErrs = c("replay_errors_total", "Replays of a spooled batch that failed (retried).")
	m.replaySkipped = c("replay_skipped_rows_total", "Rows of replayed batches the server already held, not sent again.")
	m.pruned = c("pruned_rows_total", "Unpartitioned rows (audits, findings, inventory, evidence) deleted past rollup_retention.")
	m.prunedParts = c("pruned_partitions_total", "Month partitions dropped past retention.")
	m.pruneErrs = c("prune_errors_total", "Prunes that failed (retried the next hour).")
	return m
}

// gauges reports the spool's size.
func (d *DB) gauges() {
	d.m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_clickhouse_spool_batches", Help: "Batches waiting in the spool."},
		func() float64 { return float64(d.Pending()) }))
	d.m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_clickhouse_spool_bytes", Help: "Bytes held by the spool."},
		func() float64 {
			if d.sp == nil {
				return 0
			}
			return float64(d.sp.Bytes())
		}))
}

// Metrics is the store's Prometheus registry.
func (d *DB) Metrics() *prometheus.Registry { return d.m.reg }

// Options are for tests and benchmarks.
type Options struct {
	Now func() time.Time // the clock of "until now"; time.Now by default
}

// New returns an inert store; Start connects and migrates.
func New(cfg Config, log *slog.Logger, opt Options) *DB {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	d := &DB{cfg: cfg, log: log, now: opt.Now, cache: newCache(), spare: map[string]*tab{}, m: newMetrics(), kick: make(chan struct{}, 1)}
	d.gauges()
	return d
}

// Open connects to the store at cfg, applying its migrations.
func Open(ctx context.Context, cfg Config, log *slog.Logger, opt Options) (*DB, error) {
	d := New(cfg, log, opt)
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DB) connect(addr []string) (driver.Conn, error) {
	method := ch.CompressionLZ4
	if d.cfg.Compression == "none" {
		method = ch.CompressionNone
	}
	return ch.Open(&ch.Options{Addr: addr, Auth: ch.Auth{Database: "default", Username: d.cfg.User, Password: d.cfg.Password},
		DialTimeout: d.cfg.DialTimeout, ReadTimeout: d.cfg.ReadTimeout, MaxOpenConns: 8,
		Compression: &ch.Compression{Method: method}})
}

// Start connects, reads the server's version and applies the
// migrations (on every shard, with a cluster).
func (d *DB) Start(ctx context.Context) error {
	conn, err := d.connect(d.cfg.Addr)
	if err != nil {
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	d.conn, d.ver = conn, [2]int{int(v.Version.Major), int(v.Version.Minor)}
	if err := d.Migrate(ctx); err != nil {
		conn.Close()
		return err
	}
	if err := d.conn.QueryRow(ctx, "SELECT toInt64(max(id)) FROM "+d.t("audit")).Scan(&d.auditN); err != nil {
		conn.Close()
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	if err := d.conn.QueryRow(ctx, "SELECT toInt64(max(id)) FROM "+d.t("alert")).Scan(&d.alertN); err != nil {
		conn.Close()
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	d.seq = d.now().UnixNano()
	if d.cfg.Spool != "" {
		if err := d.openSpool(); err != nil {
			conn.Close()
			return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
		}
	}
	if d.cfg.Retention > 0 || d.cfg.RollupRetention > 0 {
		if err := d.Prune(ctx); err != nil {
			d.m.pruneErrs.Inc()
			d.log.Warn("clickhouse: prune failed", "server", d.cfg.String(), "err", err)
		}
		pctx, cancel := context.WithCancel(context.Background())
		d.pstop, d.pdone = cancel, make(chan struct{})
		go d.pruner(pctx)
	}
	return nil
}

// openSpool takes a slot of the spool, notes the audit IDs its batches
// hold (so that new audits do not reuse them) and starts the replayer.
func (d *DB) openSpool() error {
	sp, err := spool.Open(d.cfg.Spool, d.cfg.SpoolMax)
	if err != nil {
		return err
	}
	d.sp = sp
	if n := sp.Len(); n > 0 {
		d.log.Info("clickhouse: spooled batches to replay", "server", d.cfg.String(), "spool", sp.Dir, "batches", n)
		if err := d.spoolAudits(); err != nil {
			sp.Close()
			d.sp = nil
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stop, d.stopped = cancel, make(chan struct{})
	go d.replayer(ctx)
	return nil
}

// spoolAudits raises auditN and alertN past the IDs of spooled batches.
func (d *DB) spoolAudits() error {
	return d.sp.Walk(func(data []byte) error {
		p, err := decode(data)
		if err != nil {
			return nil // reported when replayed
		}
		for _, t := range p.Tables {
			if t.Name == "audit" {
				for _, id := range t.Cols[0].I {
					d.auditN = max(d.auditN, id)
				}
			}
			if t.Name == "alert" {
				for _, id := range t.Cols[0].I {
					d.alertN = max(d.alertN, id)
				}
			}
		}
		return nil
	})
}

// shards lists the servers holding the local tables: the store's
// address, or each shard of the cluster.
func (d *DB) shards(ctx context.Context) ([]string, error) {
	if d.cfg.Cluster == "" {
		return []string{strings.Join(d.cfg.Addr, ",")}, nil
	}
	rows, err := d.conn.Query(ctx, "SELECT host_address, toUInt16(port) FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", d.cfg.Cluster)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %s: cluster %s: %w", d.cfg, d.cfg.Cluster, err)
	}
	defer rows.Close()
	var targets []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return nil, fmt.Errorf("clickhouse: %s: cluster %s: %w", d.cfg, d.cfg.Cluster, err)
		}
		targets = append(targets, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("clickhouse: %s: no cluster %q in the server's remote_servers", d.cfg, d.cfg.Cluster)
	}
	return targets, nil
}

// onEach runs fn with a connection to each server holding local tables
// (DDL ON CLUSTER needs ZooKeeper; this does not), and local, the
// suffix of their names.
func (d *DB) onEach(ctx context.Context, fn func(conn driver.Conn, where, local string) error) error {
	targets, err := d.shards(ctx)
	if err != nil {
		return err
	}
	local := ""
	if d.cfg.Cluster != "" {
		local = "_local"
	}
	for _, t := range targets {
		conn := d.conn
		if d.cfg.Cluster != "" {
			c, err := d.connect([]string{t})
			if err != nil {
				return fmt.Errorf("clickhouse: shard %s: %w", t, err)
			}
			defer c.Close()
			conn = c
		}
		if err := fn(conn, t, local); err != nil {
			return err
		}
	}
	return nil
}

// Migrate applies the schema's migrations: on the server, or on each
// shard of the cluster.
func (d *DB) Migrate(ctx context.Context) error {
	return d.onEach(ctx, func(conn driver.Conn, t, _ string) error {
		ex := func(ctx context.Context, q string) error { return conn.Exec(ctx, q) }
		query := func(ctx context.Context, q string) (int, error) {
			var n int32
			err := conn.QueryRow(ctx, q).Scan(&n)
			return int(n), err
		}
		if _, err := d.migrate(ctx, ex, query, t); err != nil {
			var ex *ch.Exception
			if errors.As(err, &ex) {
				return fmt.Errorf("clickhouse: %s: %w", t, err)
			}
			return err
		}
		return nil
	})
}

// t is the name of a table to read or insert into.
func (d *DB) t(name string) string { return d.cfg.Database + "." + name }

// closeDrain bounds the last replay at Close.
const closeDrain = 10 * time.Second

// Close stops the replayer, sends what the spool holds if the server
// answers within closeDrain (what it cannot send stays for the next
// process using the store), and closes the connection.
func (d *DB) Close() error {
	if d.conn == nil {
		return nil
	}
	if d.pstop != nil {
		d.pstop()
		<-d.pdone
	}
	if d.sp != nil {
		d.stop()
		<-d.stopped
		ctx, cancel := context.WithTimeout(context.Background(), closeDrain)
		if err := d.drain(ctx); err != nil {
			d.log.Warn("clickhouse: batches left in the spool for the next start", "server", d.cfg.String(), "spool", d.sp.Dir,
				"batches", d.sp.Len(), "err", err)
		}
		cancel()
		d.sp.Close()
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}

// query runs a read and calls fn for each row.
func (d *DB) query(ctx context.Context, q string, fn func(driver.Rows) error, args ...any) error {
	d.m.byts.Inc()
	rows, err := d.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	return nil
}

// Info says what the store holds.
func (d *DB) Info(ctx context.Context) (*store.Info, error) {
	in := &store.Info{Backend: "clickhouse", Path: d.cfg.String(), Schema: schemaVersion}
	var queries, audits, inv, devs, ents uint64
	err := d.conn.QueryRow(ctx, "SELECT (SELECT count() FROM "+d.t("query")+"), (SELECT count() FROM "+d.t("audit")+
		"), (SELECT uniqExact(dev, app) FROM "+d.t("inventory_v")+"), (SELECT uniqExact(key) FROM "+d.t("dev_v")+"), (SELECT uniqExact(key) FROM "+d.t("ent_v")+")").
		Scan(&queries, &audits, &inv, &devs, &ents)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %s: info: %w", d.cfg, err)
	}
	flows, err := d.detailFlows(ctx)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %s: info: %w", d.cfg, err)
	}
	in.Flows, in.Queries, in.Audits, in.Inventory, in.Devices, in.Entities = int64(flows), int64(queries), int64(audits), int64(inv), int64(devs), int64(ents)
	var size uint64
	if err := d.conn.QueryRow(ctx, "SELECT sum(bytes) FROM system.parts WHERE active AND database = ?", d.cfg.Database).Scan(&size); err == nil {
		in.Size = int64(size)
	}
	in.First, in.Last, err = d.span(ctx)
	return in, err
}

// detailFlows is the flows of the detail rows held: the daily rollup's
// from the first day that still has detail rows on, since detail rows
// are dropped a whole day at a time, and rollups later. (Summing the
// detail rows reads a column of every row: 0.4 s at 50 million.)
func (d *DB) detailFlows(ctx context.Context) (uint64, error) {
	var d0, d1 int64
	var days uint64
	if err := d.conn.QueryRow(ctx, "SELECT toInt64(min(d)), toInt64(max(d)), count() FROM "+d.t("flow_d")).Scan(&d0, &d1, &days); err != nil || days == 0 {
		return 0, err
	}
	// The first day with detail rows: a day, then twice as far each time.
	for lo, span := d0, int64(1); lo <= d1; lo, span = lo+span, span*2 {
		var n uint64
		var h int64
		if err := d.conn.QueryRow(ctx, "SELECT count(), toInt64(min(h)) FROM "+d.t("flow")+" WHERE h >= ? AND h < ?", lo*24, (lo+span)*24).Scan(&n, &h); err != nil {
			return 0, err
		}
		if n > 0 {
			var flows uint64
			err := d.conn.QueryRow(ctx, "SELECT sumMerge(n) FROM "+d.t("flow_d")+" WHERE d >= ?", floorDiv(h, 24)).Scan(&flows)
			return flows, err
		}
	}
	return 0, nil
}

// span is the time of the first and last flow or query held, as the
// SQLite store reads it: first of the first hour, last of the last.
func (d *DB) span(ctx context.Context) (first, last time.Time, err error) {
	var f1, l1, f2, l2 int64
	// From the hourly rollups, as SQLite reads it: they are ordered by
	// hour and far smaller than the detail rows.
	q := func(t string) string {
		return "(SELECT toInt64(minMerge(first)) FROM " + d.t(t) + " WHERE h = (SELECT min(h) FROM " + d.t(t) + ")), " +
			"(SELECT toInt64(maxMerge(last)) FROM " + d.t(t) + " WHERE h = (SELECT max(h) FROM " + d.t(t) + "))"
	}
	err = d.conn.QueryRow(ctx, "SELECT "+q("flow_h")+", "+q("query_h")).Scan(&f1, &l1, &f2, &l2)
	if err != nil {
		return first, last, fmt.Errorf("clickhouse: %s: %w", d.cfg, err)
	}
	lo, hi := f1, l1
	if f2 != 0 && (lo == 0 || f2 < lo) {
		lo = f2
	}
	hi = max(hi, l2)
	return tm(lo), tm(hi), nil
}

func tm(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
