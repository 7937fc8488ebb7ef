// Package policysync hands the dashboard's policy to processes on other
// machines through the store: it polls the store's policy history for
// its latest change and, when that change is new and valid, writes its
// policy to the local policy file atomically, so that a resolver or
// sensor loads it, keeps it across restarts and runs on it while the
// store is down.
//
// It reads through store.PolicyLog, whatever the backend, and must never
// import a backend, a pipeline or a command.
package policysync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/store"
)

// Config says which file to keep and how often to ask.
type Config struct {
	Path  string        // the local policy file
	Every time.Duration // how often the store is asked
}

// DefaultConfig asks every 5 s, as often as the resolver's and the
// sensor's file watches look at the file.
func DefaultConfig() Config { return Config{Every: 5 * time.Second} }

// Deps are the syncer's dependencies.
type Deps struct {
	Log   *slog.Logger
	Store store.PolicyLog
	// Validate refuses a policy the process could not load (parse,
	// rules, catalog ids); path is where it would be written.
	Validate func(path string, b []byte) error
	// Changed is called after the file was replaced (nil: the process's
	// file watch will notice).
	Changed func()
}

// Syncer keeps the local policy file equal to the store's latest change.
// New does no I/O; Sync asks once; Run asks until its context ends.
type Syncer struct {
	cfg  Config
	deps Deps
	seen int64 // the latest change dealt with: written, equal, or refused
	err  string
}

// New makes a Syncer.
func New(cfg Config, deps Deps) *Syncer {
	if cfg.Every <= 0 {
		cfg.Every = DefaultConfig().Every
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{cfg: cfg, deps: deps}
}

// far is an end of period past any clock: a change saved by a dashboard
// whose clock is ahead of the store's is still the latest.
var far = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Sync asks the store for its latest policy change once. When that change
// was not dealt with before and its policy differs from the file, the
// policy is validated and written (written reports it). A store without
// changes leaves the file alone. An invalid policy is an error and is not
// tried again until a newer change comes.
func (s *Syncer) Sync(ctx context.Context) (written bool, err error) {
	// The cheap question first: the newest change's id, without the files.
	head, err := s.head(ctx)
	if err != nil {
		return false, fmt.Errorf("policy from the store: %w", err)
	}
	if head == 0 || head == s.seen {
		return false, nil
	}
	c, err := s.deps.Store.PolicyChange(ctx, head)
	if err != nil {
		return false, fmt.Errorf("policy from the store: change %d: %w", head, err)
	}
	cur, err := os.ReadFile(s.cfg.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("policy from the store: %w", err)
	}
	if bytes.Equal(cur, []byte(c.After)) {
		s.seen = c.ID
		return false, nil
	}
	if s.deps.Validate != nil {
		if err := s.deps.Validate(s.cfg.Path, []byte(c.After)); err != nil {
			s.seen = c.ID
			return false, fmt.Errorf("policy from the store: change %d by %s at %s does not load here; keeping %s as it is: %w",
				c.ID, c.User, c.Time.Format(time.RFC3339), s.cfg.Path, err)
		}
	}
	if err := outfile.Write(s.cfg.Path, func(w io.Writer) error {
		_, err := io.WriteString(w, c.After)
		return err
	}); err != nil {
		return false, fmt.Errorf("policy from the store: change %d: %w", c.ID, err)
	}
	s.seen = c.ID
	s.deps.Log.Info("policy from the store: written", "change", c.ID, "user", c.User, "time", c.Time, "file", s.cfg.Path)
	if s.deps.Changed != nil {
		s.deps.Changed()
	}
	return true, nil
}

// head is the id of the store's newest change, 0 for none.
func (s *Syncer) head(ctx context.Context) (int64, error) {
	if h, ok := s.deps.Store.(store.PolicyHead); ok {
		return h.PolicyHead(ctx)
	}
	cs, err := s.deps.Store.PolicyChanges(ctx, store.Filter{Until: far, Limit: 1})
	if err != nil || len(cs) == 0 {
		return 0, err
	}
	return cs[0].ID, nil
}

// Run calls Sync every cfg.Every until ctx ends. An error is logged when
// it differs from the last one (a store that is down says so once, and
// once more when it is back).
func (s *Syncer) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.SyncLogged(ctx)
	}
}

// SyncLogged is Sync with its error logged, once while it repeats.
func (s *Syncer) SyncLogged(ctx context.Context) {
	_, err := s.Sync(ctx)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == s.err {
		return
	}
	s.err = msg
	if err != nil {
		s.deps.Log.Error("policy from the store: the local policy file stays in force", "err", err)
	} else {
		s.deps.Log.Info("policy from the store: no error now")
	}
}
