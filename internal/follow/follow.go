package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// File is one path to follow.
type File struct {
	Path string `yaml:"path"`
	// Header is the prefix of the header lines at the top of the file,
	// repeated in Batch.Header when reading starts past them: "#" for
	// Zeek's TSV logs, empty for JSON lines.
	Header string `yaml:"header"`
}

// Config configures a Follower.
type Config struct {
	Files []File `yaml:"files"`
	// StateDir holds offsets.json, unless Deps.Offsets is given.
	StateDir string `yaml:"state_dir"`
	// Poll is how often paths are looked at.
	Poll time.Duration `yaml:"poll"`
	// RotateWait is how long a file renamed away stays open at the least,
	// for the lines its writer adds before it reopens the path (a daemon
	// that logrotate signals after the rename): it is closed at the first
	// poll after that which finds it idle for the second time running
	// (fluent-bit's rotate_wait).
	RotateWait time.Duration `yaml:"rotate_wait"`
	// SaveInterval is how often committed offsets are saved (and at Close).
	SaveInterval time.Duration `yaml:"save_interval"`
	// MaxLine bounds a line; longer ones are skipped and counted.
	MaxLine int `yaml:"max_line"`
	// Batch bounds the lines handed to the Handler at once.
	Batch int `yaml:"batch"`
	// Fingerprint is how many leading bytes identify a file with its inode.
	Fingerprint int `yaml:"fingerprint"`
	// StartAtEnd starts a file that has no saved offset at its last line
	// end instead of its beginning (history is skipped).
	StartAtEnd bool `yaml:"start_at_end"`
	// CommitOnReturn commits a batch when the Handler returns nil.
	CommitOnReturn bool `yaml:"commit_on_return"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Poll: time.Second, RotateWait: 5 * time.Second, SaveInterval: time.Second, MaxLine: 1 << 20, Batch: 1024, Fingerprint: 1024}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Poll <= 0 || c.SaveInterval < 0 || c.RotateWait < 0:
		return errors.New("follow: poll must be positive, and save_interval and rotate_wait not negative")
	case c.MaxLine < 1 || c.MaxLine > 256<<20:
		return fmt.Errorf("follow: max_line %d: want 1 to 256 MiB", c.MaxLine)
	case c.Batch < 1:
		return fmt.Errorf("follow: batch %d: want at least 1", c.Batch)
	case c.Fingerprint < 1 || c.Fingerprint > 1<<20:
		return fmt.Errorf("follow: fingerprint %d: want 1 to 1 MiB", c.Fingerprint)
	}
	seen := map[string]bool{}
	for i, f := range c.Files {
		if f.Path == "" {
			return fmt.Errorf("follow: files[%d]: path is empty", i)
		}
		p := filepath.Clean(f.Path)
		if seen[p] {
			return fmt.Errorf("follow: files[%d]: %s is listed twice", i, f.Path)
		}
		seen[p] = true
	}
	return nil
}

// Batch is a run of complete lines from one file.
type Batch struct {
	Path string // the configured path
	// New marks the first batch from a file: a new file at the path, a
	// truncation, or the first after a start. Forget per-file state.
	New bool
	// Header holds the file's header lines (File.Header) when New and the
	// reading starts past them.
	Header [][]byte
	Lines  [][]byte // without their newline
	// Offsets[i] is where Lines[i] starts in the file, for messages.
	Offsets []int64
	// Rotated is set for a file no longer at Path (renamed, removed),
	// being read to its end.
	Rotated bool
	// Cursor marks the end of this batch; see Follower.Commit.
	Cursor Cursor
}

// Cursor is a position in one file, up to which lines can be committed.
type Cursor struct {
	key string
	gen uint64
	off int64
}

// Offset is the file offset the cursor stands at.
func (c Cursor) Offset() int64 { return c.off }

// Handler receives batches, one at a time, from the follower's goroutine.
// The line bytes are valid until it returns. An error makes the follower
// read the same lines again on the next poll.
type Handler func(ctx context.Context, b *Batch) error

// Deps are the follower's dependencies.
type Deps struct {
	Log     *slog.Logger
	Handler Handler
	// Offsets keeps the offsets; nil: a FileOffsets in Config.StateDir.
	Offsets Offsets
	Now     func() time.Time
}

// Follower follows the configured files. New does no I/O; Start reads the
// saved offsets and starts polling; Close stops, saves and closes.
type Follower struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	met   *metrics
	paths []*pathState
	buf   []byte // one read buffer: lines point into it while delivered
	hbuf  []byte

	mu     sync.Mutex
	states map[string]*entry
	dirty  bool

	lastSave time.Time
	cancel   context.CancelFunc
	done     chan struct{}
}

// entry is a State with what Commit needs.
type entry struct {
	State
	gen    uint64
	closed bool  // the file was read to its end and closed
	end    int64 // its size then: the entry goes once committed to it
}

// New returns a follower.
func New(cfg Config, deps Deps) (*Follower, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Handler == nil {
		return nil, errors.New("follow: no handler")
	}
	if deps.Offsets == nil {
		if cfg.StateDir == "" {
			return nil, errors.New("follow: state_dir is empty and no Offsets given")
		}
		deps.Offsets = &FileOffsets{Path: filepath.Join(cfg.StateDir, "offsets.json")}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	fl := &Follower{cfg: cfg, deps: deps, log: deps.Log, met: newMetrics(), states: map[string]*entry{}}
	for _, f := range cfg.Files {
		p := filepath.Clean(f.Path)
		fl.paths = append(fl.paths, &pathState{path: p, header: f.Header, met: fl.met.forPath(p)})
	}
	return fl, nil
}

// Registry holds the follower's metrics.
func (fl *Follower) Registry() *prometheus.Registry { return fl.met.reg }

// Start loads the offsets and polls until ctx ends or Close.
func (fl *Follower) Start(ctx context.Context) error {
	if err := fl.load(); err != nil {
		return err
	}
	ctx, fl.cancel = context.WithCancel(ctx)
	fl.done = make(chan struct{})
	go fl.run(ctx)
	return nil
}

func (fl *Follower) load() error {
	states, err := fl.deps.Offsets.Load()
	if err != nil {
		return err
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, s := range states {
		fl.states[key(s.Path, s.Dev, s.Ino)] = &entry{State: s}
	}
	return nil
}

func (fl *Follower) run(ctx context.Context) {
	defer close(fl.done)
	t := time.NewTicker(fl.cfg.Poll)
	defer t.Stop()
	for {
		fl.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll looks at every path once and saves the offsets if due.
func (fl *Follower) poll(ctx context.Context) {
	if fl.buf == nil {
		fl.buf = make([]byte, max(fl.cfg.MaxLine+1, 64<<10))
	}
	for _, p := range fl.paths {
		if ctx.Err() != nil {
			return
		}
		fl.pollPath(ctx, p)
	}
	if now := fl.deps.Now(); now.Sub(fl.lastSave) >= fl.cfg.SaveInterval {
		fl.save()
	}
}

// Commit records that every line up to c was handled. A cursor of a file
// since truncated or replaced is ignored (its lines are gone).
func (fl *Follower) Commit(c Cursor) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	e := fl.states[c.key]
	if e == nil || e.gen != c.gen || c.off <= e.Offset {
		return
	}
	e.Offset = c.off
	e.Updated = fl.deps.Now()
	fl.dirty = true
}

// States returns the offsets as they would be saved now.
func (fl *Follower) States() []State {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.snapshot()
}

func (fl *Follower) snapshot() []State {
	out := make([]State, 0, len(fl.states))
	for k, e := range fl.states {
		if e.closed && e.Offset >= e.end {
			delete(fl.states, k) // a rotated file read and committed to its end
			continue
		}
		out = append(out, e.State)
	}
	return out
}

func (fl *Follower) save() {
	fl.lastSave = fl.deps.Now()
	fl.mu.Lock()
	if !fl.dirty {
		fl.mu.Unlock()
		return
	}
	states := fl.snapshot()
	fl.dirty = false
	fl.mu.Unlock()
	if err := fl.deps.Offsets.Save(states); err != nil {
		fl.mu.Lock()
		fl.dirty = true
		fl.mu.Unlock()
		fl.log.Warn("follow: saving offsets failed; will retry", "err", err)
	}
}

// Close stops polling, saves the committed offsets and closes the files.
func (fl *Follower) Close() error {
	if fl.cancel != nil {
		fl.cancel()
		<-fl.done
		fl.cancel = nil
	}
	fl.mu.Lock()
	fl.dirty = true
	states := fl.snapshot()
	fl.mu.Unlock()
	err := fl.deps.Offsets.Save(states)
	for _, p := range fl.paths {
		p.closeAll()
	}
	return err
}

func key(path string, dev, ino uint64) string {
	if dev == 0 && ino == 0 {
		return "path:" + path
	}
	return fmt.Sprintf("%d:%d", dev, ino)
}
