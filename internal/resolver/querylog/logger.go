package querylog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink stores batches of entries: the interface the SQLite store
// implements. Write must not keep the slice or the entries after it
// returns. Entries arrive in the order they were logged.
type Sink interface {
	Write(batch []Entry) error
	Close() error
}

// Overflow modes.
const (
	Shed  = "shed"  // drop what does not fit, count it, and log the count
	Block = "block" // make the resolver wait for room
)

// Config bounds the logger and its JSON-lines file.
type Config struct {
	Path     string        `yaml:"path"`      // JSON-lines file; "" writes none
	MaxSize  int64         `yaml:"max_size"`  // bytes before the file is rotated; 0: never
	MaxFiles int           `yaml:"max_files"` // rotated files kept; 0: keep all within max_age
	MaxAge   time.Duration `yaml:"max_age"`   // rotated files older than this are removed; 0: kept
	Buffer   int           `yaml:"buffer"`    // entries held in memory between flushes
	Batch    int           `yaml:"batch"`     // entries written to a sink at once
	Flush    time.Duration `yaml:"flush"`     // longest time an entry waits in memory
	Overflow string        `yaml:"overflow"`  // shed or block
}

// DefaultConfig keeps about 1 GB of rotated JSON lines for 90 days, and
// buffers 8192 entries (about 4 MB; 80 ms at 100,000 q/s).
func DefaultConfig() Config {
	return Config{MaxSize: 100 << 20, MaxFiles: 10, MaxAge: 90 * 24 * time.Hour,
		Buffer: 8192, Batch: 512, Flush: time.Second, Overflow: Shed}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Overflow != Shed && c.Overflow != Block {
		return errors.New("query_log: overflow must be shed or block")
	}
	if c.Buffer < 1 || c.Batch < 1 || c.Flush <= 0 || c.MaxSize < 0 || c.MaxFiles < 0 || c.MaxAge < 0 {
		return errors.New("query_log: buffer, batch and flush must be positive, max_size, max_files and max_age not negative")
	}
	return nil
}

// Logger buffers entries and writes them to its sinks in batches from one
// goroutine. It is safe for concurrent use.
type Logger struct {
	cfg   Config
	log   *slog.Logger
	sinks []Sink

	mu      sync.Mutex
	room    *sync.Cond
	ring    []Entry
	head, n int
	closed  bool
	kick    chan struct{}
	done    chan struct{}

	started                       atomic.Bool
	logged, written, shed, failed atomic.Uint64
	shedReported                  uint64 // shed count already written to the sinks
	shedWarned                    uint64 // and already in the process log
	lastWarn                      time.Time
	scratch                       []Entry // a batch with its shed record in front
	now                           func() time.Time
}

// shedWarnEvery bounds the process log's shed warnings under sustained
// overload; the sinks get the count with every batch.
const shedWarnEvery = 10 * time.Second

// New returns a logger; it writes nothing until Start.
func New(cfg Config, log *slog.Logger, sinks ...Sink) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Logger{cfg: cfg, log: log, sinks: sinks, ring: make([]Entry, max(cfg.Buffer, 1)),
		kick: make(chan struct{}, 1), done: make(chan struct{}), now: time.Now}
	l.room = sync.NewCond(&l.mu)
	return l
}

// Start runs the writer until Close or until ctx ends.
func (l *Logger) Start(ctx context.Context) {
	if l.started.CompareAndSwap(false, true) {
		go l.run(ctx)
	}
}

// Log queues a copy of e. In shed mode it never waits; in block mode it
// waits for room while the writer catches up.
func (l *Logger) Log(e *Entry) {
	l.mu.Lock()
	for l.n == len(l.ring) && !l.closed {
		if l.cfg.Overflow != Block {
			l.mu.Unlock()
			l.shed.Add(1)
			return
		}
		l.room.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		l.shed.Add(1)
		return
	}
	e.copyTo(&l.ring[(l.head+l.n)%len(l.ring)])
	l.n++
	full := l.n >= l.cfg.Batch
	l.mu.Unlock()
	l.logged.Add(1)
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *Logger) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(max(l.cfg.Flush, time.Millisecond))
	defer t.Stop()
	for {
		stop := false
		select {
		case <-ctx.Done():
			stop = true
		case <-t.C:
		case <-l.kick:
		}
		l.mu.Lock()
		if l.closed {
			stop = true
		}
		l.mu.Unlock()
		for l.drain() {
		}
		l.reportShed()
		if stop {
			l.mu.Lock()
			l.closed = true
			l.room.Broadcast()
			l.mu.Unlock()
			for l.drain() {
			}
			l.reportShed()
			return
		}
	}
}

// drain writes up to a batch of the oldest entries where they lie in the
// ring, then frees their slots; it says whether there was any. Log only
// fills slots past head+n, so the entries being written are not touched,
// and nothing is copied on the way to the sinks.
func (l *Logger) drain() bool {
	l.mu.Lock()
	head, k := l.head, min(l.n, max(l.cfg.Batch, 1))
	l.mu.Unlock()
	if k == 0 {
		return false
	}
	k = min(k, len(l.ring)-head) // up to the ring's end; the rest next time
	batch := l.ring[head : head+k]
	if s := l.shed.Load(); s != l.shedReported {
		// Under overload the ring stays full and the writer never gets to
		// an empty ring: the count shed so far goes out in the same write
		// as this batch, in front of it, so that a kill -9 after any write
		// leaves written + shed accounting for every query logged before
		// it (the ring's content aside).
		batch = l.withShed(batch, s)
	}
	l.write(batch, k)
	l.mu.Lock()
	l.head = (l.head + k) % len(l.ring)
	l.n -= k
	l.room.Broadcast()
	l.mu.Unlock()
	return true
}

// withShed returns batch copied behind a shed record of the entries shed
// since the last one, up to the shed count s. It copies only under
// overload, when there is something to report.
func (l *Logger) withShed(batch []Entry, s uint64) []Entry {
	if cap(l.scratch) < len(batch)+1 {
		l.scratch = make([]Entry, len(batch)+1, max(len(batch), l.cfg.Batch)+1)
	}
	out := l.scratch[:len(batch)+1]
	out[0] = l.shedRecord(s)
	for i := range batch {
		batch[i].copyTo(&out[i+1])
	}
	return out
}

// shedRecord is the entry counting what was shed since the last one, up
// to the shed count s; it marks s reported and warns, rate-limited.
func (l *Logger) shedRecord(s uint64) Entry {
	now := l.now()
	e := Entry{Time: now, Shed: s - l.shedReported}
	l.shedReported = s
	if now.Sub(l.lastWarn) >= shedWarnEvery || l.lastWarn.IsZero() {
		l.log.Warn("query log: shed entries under overload", "entries", s-l.shedWarned, "total", s)
		l.shedWarned, l.lastWarn = s, now
	}
	return e
}

// write gives batch to every sink; entries is how many of it are queries
// (the rest is a shed record).
func (l *Logger) write(batch []Entry, entries int) {
	for _, s := range l.sinks {
		if err := s.Write(batch); err != nil {
			// One line per failing batch, not per entry: a full disk
			// must not flood the process log.
			l.failed.Add(uint64(entries))
			l.log.Error("query log: write failed", "entries", entries, "err", err)
		}
	}
	l.written.Add(uint64(entries))
}

// reportShed writes an entry saying how many were shed since the last one,
// when no batch carries it.
func (l *Logger) reportShed() {
	s := l.shed.Load()
	if s == l.shedReported {
		return
	}
	l.write([]Entry{l.shedRecord(s)}, 0)
}

// Close flushes what is buffered and closes the sinks.
func (l *Logger) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.room.Broadcast()
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	if !l.started.Load() && !already {
		l.started.Store(true)
		go l.run(context.Background())
	}
	if !already {
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
		}
	}
	var errs []error
	for _, s := range l.sinks {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Counters of a logger.
type Counters struct {
	Logged, Written, Shed, Failed uint64
	Queued                        int
}

// Counters reads the logger's counters.
func (l *Logger) Counters() Counters {
	l.mu.Lock()
	q := l.n
	l.mu.Unlock()
	return Counters{Logged: l.logged.Load(), Written: l.written.Load(), Shed: l.shed.Load(), Failed: l.failed.Load(), Queued: q}
}
