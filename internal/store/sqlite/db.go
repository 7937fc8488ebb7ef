package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/outflow-dev/outflow/internal/store"
)

// DB is an open store. It is safe for concurrent use: writes are
// serialised on one connection, reads run on a pool of read-only
// connections alongside them (WAL).
type DB struct {
	cfg  store.Config
	log  *slog.Logger
	path string
	now  func() time.Time

	w  *sql.DB // one connection: the writer
	r  *sql.DB // read-only pool
	ro bool

	wmu       sync.Mutex
	dict      *dict
	stmts     map[string]*sql.Stmt
	lastPrune time.Time

	// rollups summed in memory (rollup.go)
	delay     time.Duration
	pend      *agg
	pendSince time.Time
	lastFlush time.Time
	stopFlush chan struct{}
	flushDone chan struct{}
	// pendRanges are the segments pend sums, noted in seg_pending so
	// that a crash leaves them to the next writer's recovery
	pendRanges []segRange
	// lock is the writer lock (PATH.writer) while this process holds it
	lock *os.File
	// wantDelay is the delay asked for, which a writer that opened
	// without the lock takes up when it gets the lock later; lockTried
	// is when it last tried
	wantDelay time.Duration
	lockTried time.Time

	closeOnce sync.Once
}

var _ store.Store = (*DB)(nil)

// Options tune Open beyond the store configuration (tests, benchmarks).
type Options struct {
	// Now is the clock (default time.Now); it sets the end of open
	// periods and the retention cut-off.
	Now func() time.Time
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// CacheMB is SQLite's page cache per connection (default the
	// configuration's cache_mb, else 64).
	CacheMB int
	// RollupDelay is how long rollup sums may wait in memory before they
	// are written (default 2s); negative writes them with every batch.
	// Reads through this DB write them first, so they never see a lag;
	// other processes reading the file may, by up to this much.
	RollupDelay time.Duration
}

// Open opens or creates the store at cfg.Path and applies migrations.
func Open(ctx context.Context, cfg store.Config, log *slog.Logger) (*DB, error) {
	return OpenWith(ctx, cfg, log, Options{})
}

// OpenReadOnly opens an existing store for reading; Write fails.
func OpenReadOnly(ctx context.Context, cfg store.Config, log *slog.Logger) (*DB, error) {
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return open(ctx, cfg, log, Options{}, true)
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, cfg store.Config, log *slog.Logger, opt Options) (*DB, error) {
	return open(ctx, cfg, log, opt, false)
}

func open(ctx context.Context, cfg store.Config, log *slog.Logger, opt Options, ro bool) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("sqlite: no path")
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("sqlite: %s: path must not contain ? or #", cfg.Path)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if opt.CacheMB <= 0 {
		opt.CacheMB = cfg.CacheMB
	}
	if opt.CacheMB <= 0 {
		opt.CacheMB = 64
	}
	if !ro {
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	sync := "FULL"
	if strings.EqualFold(cfg.Synchronous, "normal") {
		sync = "NORMAL"
	}
	base := cfg.Path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(" + sync + ")" +
		fmt.Sprintf("&_pragma=cache_size(-%d)", opt.CacheMB*1024)
	if opt.RollupDelay == 0 {
		opt.RollupDelay = 2 * time.Second
	}
	d := &DB{cfg: cfg, log: log, path: cfg.Path, now: opt.Now, ro: ro, stmts: map[string]*sql.Stmt{}, delay: opt.RollupDelay, pend: newAgg()}
	var err error
	if !ro {
		// auto_vacuum must be chosen before the first table exists;
		// incremental lets pruning give pages back to the file system.
		d.w, err = sql.Open("sqlite", base+"&_pragma=auto_vacuum(INCREMENTAL)&_pragma=journal_mode(WAL)&_txlock=immediate"+
			// checkpoint every 32 MB of WAL rather than 4: rollup pages
			// rewritten by many commits are copied back once
			"&_pragma=wal_autocheckpoint(8192)&_pragma=journal_size_limit(67108864)")
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", cfg.Path, err)
		}
		d.w.SetMaxOpenConns(1)
		d.w.SetMaxIdleConns(1)
		d.w.SetConnMaxLifetime(0)
		if err := d.w.PingContext(ctx); err != nil {
			d.w.Close()
			return nil, fmt.Errorf("sqlite: %s: %w", cfg.Path, err)
		}
		if err := migrate(ctx, d.w, cfg.Path); err != nil {
			d.w.Close()
			return nil, err
		}
		d.dict = newDict()
		// Sums kept in memory belong to the one process that holds the
		// writer lock: it alone recovers what a crashed holder left. A
		// second writer (an audit beside a running sensor) writes its
		// rollups with each batch and never takes another's rows.
		lk, held, err := writerLock(cfg.Path)
		if err != nil {
			d.w.Close()
			return nil, fmt.Errorf("sqlite: %s: writer lock: %w", cfg.Path, err)
		}
		d.lock = lk
		if held {
			if err := d.recoverRollups(ctx); err != nil {
				d.w.Close()
				d.unlock()
				return nil, err
			}
		} else {
			d.wantDelay, d.delay, d.lockTried = d.delay, -1, time.Now()
			log.Info("store: another process writes this store; this one writes its rollups with each batch", "path", cfg.Path)
		}
	}
	d.r, err = sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		if d.w != nil {
			d.w.Close()
		}
		d.unlock()
		return nil, fmt.Errorf("sqlite: %s: %w", cfg.Path, err)
	}
	d.r.SetMaxOpenConns(opt.ReadConns)
	d.r.SetMaxIdleConns(opt.ReadConns)
	if ro {
		var v int
		if err := d.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			d.r.Close()
			return nil, fmt.Errorf("sqlite: %s: %w", cfg.Path, err)
		}
		if err := readable(cfg.Path, v); err != nil {
			d.r.Close()
			return nil, err
		}
	} else if err := d.prune(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if !ro && d.delay > 0 {
		d.startFlusher()
	}
	return d, nil
}

func (d *DB) startFlusher() {
	d.stopFlush, d.flushDone = make(chan struct{}), make(chan struct{})
	go d.flusher(d.delay, d.stopFlush, d.flushDone)
}

// lockRetry is how often a writer that opened without the writer lock
// tries to take it again, as it writes.
var lockRetry = 30 * time.Second

// retakeLock takes the writer lock that another process held when this
// one opened the store and has let go since (an audit beside a sensor
// that restarted: the sensor would otherwise write its rollups with every
// batch for the rest of its life). It recovers what seg_pending names,
// as Open does, and sums in memory from then on. The caller holds wmu.
func (d *DB) retakeLock(ctx context.Context) {
	if d.lock != nil || d.wantDelay <= 0 || time.Since(d.lockTried) < lockRetry {
		return
	}
	d.lockTried = time.Now()
	lk, held, err := writerLock(d.path)
	if err != nil || !held {
		return
	}
	d.lock = lk
	if err := d.recoverRollups(ctx); err != nil {
		d.unlock()
		d.log.Warn("store: took the writer lock but could not recover the rollups it names; trying again later", "path", d.path, "err", err)
		return
	}
	d.delay = d.wantDelay
	d.startFlusher()
	d.log.Info("store: this process now holds the writer lock and sums rollups in memory", "path", d.path)
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close closes the store; writes in flight finish first.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.wmu.Lock()
		stop, done := d.stopFlush, d.flushDone // a write may start the flusher
		d.stopFlush, d.wantDelay = nil, 0      // and none retakes the lock
		d.wmu.Unlock()
		if stop != nil {
			close(stop)
			<-done
		}
		d.wmu.Lock()
		defer d.wmu.Unlock()
		if d.w != nil {
			if e := d.flushPending(context.Background()); e != nil {
				err = e
			}
		}
		for _, s := range d.stmts {
			s.Close()
		}
		if d.w != nil {
			// Fold the WAL back into the main file so that the store
			// is one file again when nothing uses it.
			d.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			if e := d.w.Close(); err == nil {
				err = e
			}
		}
		if e := d.r.Close(); err == nil {
			err = e
		}
		d.unlock()
	})
	return err
}

func (d *DB) unlock() {
	if d.lock != nil {
		d.lock.Close() // releases the flock
		d.lock = nil
	}
}

// Check runs SQLite's integrity check and reports the first problems.
func (d *DB) Check(ctx context.Context) error {
	rows, err := d.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("sqlite: %s: integrity check: %w", d.path, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return err
		}
		if m != "ok" && len(msgs) < 10 {
			msgs = append(msgs, m)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) > 0 {
		return fmt.Errorf("sqlite: %s: integrity check: %s", d.path, strings.Join(msgs, "; "))
	}
	return nil
}

// Info says what the store holds.
func (d *DB) Info(ctx context.Context) (*store.Info, error) {
	in := &store.Info{Backend: "sqlite", Path: d.path, Schema: schemaVersion}
	if st, err := os.Stat(d.path); err == nil {
		in.Size = st.Size()
		if wst, err := os.Stat(d.path + "-wal"); err == nil {
			in.Size += wst.Size()
		}
	}
	var prunedH int64
	err := d.r.QueryRowContext(ctx, `SELECT
		(SELECT v FROM meta WHERE k='flows'), (SELECT v FROM meta WHERE k='queries'),
		(SELECT count(*) FROM audit), (SELECT count(*) FROM inventory),
		(SELECT count(*) FROM dev), (SELECT count(*) FROM ent),
		(SELECT v FROM meta WHERE k='pruned_h')`).
		Scan(&in.Flows, &in.Queries, &in.Audits, &in.Inventory, &in.Devices, &in.Entities, &prunedH)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: info: %w", d.path, err)
	}
	// The span is read from the rollups: write those summed in memory
	// first, as every read through this DB does, or a store just written
	// would seem to hold no data yet.
	if err := d.syncRollups(ctx); err != nil {
		return nil, err
	}
	first, last, err := d.span(ctx)
	if err != nil {
		return nil, err
	}
	in.First, in.Last = first, last
	if prunedH > 0 {
		in.PrunedThru = time.Unix(prunedH*3600, 0).UTC()
	}
	return in, nil
}

// span is the time of the first and last flow or query held.
func (d *DB) span(ctx context.Context) (first, last time.Time, err error) {
	var f1, l1, f2, l2 int64
	err = d.r.QueryRowContext(ctx, `SELECT
		coalesce((SELECT min(first) FROM flow_h WHERE h = (SELECT min(h) FROM flow_h)), 0),
		coalesce((SELECT max(last) FROM flow_h WHERE h = (SELECT max(h) FROM flow_h)), 0),
		coalesce((SELECT min(first) FROM query_h WHERE h = (SELECT min(h) FROM query_h)), 0),
		coalesce((SELECT max(last) FROM query_h WHERE h = (SELECT max(h) FROM query_h)), 0)`).Scan(&f1, &l1, &f2, &l2)
	if err != nil {
		return first, last, fmt.Errorf("sqlite: %s: %w", d.path, err)
	}
	lo, hi := f1, l1
	if f2 != 0 && (lo == 0 || f2 < lo) {
		lo = f2
	}
	if l2 > hi {
		hi = l2
	}
	if lo != 0 {
		first = time.UnixMilli(lo).UTC()
	}
	if hi != 0 {
		last = time.UnixMilli(hi).UTC()
	}
	return first, last, nil
}
