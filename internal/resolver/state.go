package resolver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy"
)

// state is what a reload replaces as a whole: queries in flight keep the
// state they started with.
type state struct {
	gen   uint64
	ix    *catalog.Index
	at    *attribute.Attributor
	pol   *policy.Policy
	stamp stamp // of the files it was built from
	// edges are the instants (unix nanoseconds, sorted) at which a rule of
	// pol starts to warn or to block: between two of them the policy's
	// verdict for a client's groups and a name is the same, so a verdict
	// is remembered for the interval it was made in (see window).
	edges []int64
	// devices are the groups of the clients' MACs and hostnames under
	// pol (nil when it has no such group), replaced as the tables are
	// read.
	devices atomic.Pointer[devices]
}

// ruleEdges lists the instants at which a rule's verdict can change:
// Decide compares the time with a rule's Effective, its Effective less
// Warning, and the end of its exceptions (Except.Until) only. Instants outside the range of int64 nanoseconds
// (year 1678 to 2262) fall on the same side of every clock reading and
// are left out.
func ruleEdges(pol *policy.Policy) []int64 {
	lo, hi := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	var edges []int64
	for _, r := range pol.Rules {
		// the rule's exceptions end then (except.until)
		if u := r.Except.Until; !u.IsZero() && u.After(lo) && u.Before(hi) {
			edges = append(edges, u.UnixNano())
		}
		if r.Effective.IsZero() {
			continue // Decide ignores both instants then
		}
		for _, t := range []time.Time{r.Effective, r.Effective.Add(-r.Warning)} {
			if t.After(lo) && t.Before(hi) {
				edges = append(edges, t.UnixNano())
			}
		}
	}
	slices.Sort(edges)
	return slices.Compact(edges)
}

// window is the interval [from, until) of unix nanoseconds around t in
// which no rule's verdict changes.
func (st *state) window(t int64) (from, until int64) {
	from, until = math.MinInt64, math.MaxInt64
	for _, e := range st.edges {
		if e > t {
			return from, e
		}
		from = e
	}
	return from, until
}

// stamp summarises the watched files: a change of any size or time, or a
// file added or removed, changes it.
type stamp struct {
	files int
	size  int64
	mod   time.Time
}

func (s *Server) watched() []string {
	var paths []string
	if s.cfg.Policy != "" {
		paths = append(paths, s.cfg.Policy)
	}
	paths = append(paths, s.cfg.Catalog.Dirs...)
	return paths
}

func (s *Server) stampFiles(extra []string) stamp {
	var st stamp
	add := func(info fs.FileInfo) {
		st.files++
		st.size += info.Size()
		if info.ModTime().After(st.mod) {
			st.mod = info.ModTime()
		}
	}
	for _, p := range append(s.watched(), extra...) {
		filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				st.files += 1 << 20 // unreadable: changes the stamp when it becomes readable
				return nil
			}
			if info, err := d.Info(); err == nil {
				add(info)
			}
			return nil
		})
	}
	return st
}

// preStamp is the stamp of the files a reload is about to read, taken
// before it reads them, with the names files it stamped.
type preStamp struct {
	names []string
	stamp stamp
}

// load builds a new state from the files; it does not install it. before,
// when not nil, is the files' stamp from before they were read.
func (s *Server) load(gen uint64, before *preStamp) (*state, error) {
	now := s.now()
	ix, err := s.deps.LoadCatalog(now)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	// When answer addresses are checked, every answer needs the prefix
	// tables the catalog parses on first use, so they are parsed (and
	// checked) now: a broken table is refused like a broken policy, and
	// their garbage is made before the memory is handed back after
	// loading, not on the first query.
	if s.cfg.Answers.CheckAddresses {
		if err := ix.Check(); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	var pol *policy.Policy
	switch {
	case s.cfg.Policy != "":
		pol, err = policy.LoadWith(s.cfg.Policy, policy.Options{Catalog: ix})
	default:
		pol, err = policy.Quick(ix, s.cfg.Block...)
	}
	if err != nil {
		return nil, err
	}
	// Fail closed: a policy that blocks nothing (an emptied file, no
	// --block target) is refused unless it says allow_empty: true.
	if err := pol.RequireRules(); err != nil {
		return nil, err
	}
	if err := pol.Check(ix); err != nil {
		return nil, err
	}
	st := &state{gen: gen, ix: ix, at: attribute.New(ix), pol: pol, edges: ruleEdges(pol)}
	st.stamp = s.stampFiles(s.namesFiles(st))
	if before != nil && slices.Equal(before.names, s.namesFiles(st)) {
		// The stamp taken before reading: a file rewritten while it was
		// read is read again on the next tick.
		st.stamp = before.stamp
	}
	return st, nil
}

func (s *Server) namesFiles(st *state) []string {
	var names []string
	for _, r := range st.pol.Rules {
		if r.NamesFile != "" {
			p := r.NamesFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(s.cfg.Policy), p)
			}
			names = append(names, p)
		}
	}
	return names
}

// Reload rebuilds catalog and policy from their files and switches to
// them without dropping a query. On any error the running state is kept
// and the error returned (and logged).
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.state.Load()
	names := s.namesFiles(old)
	before := &preStamp{names: names, stamp: s.stampFiles(names)}
	st, err := s.load(old.gen+1, before)
	if err != nil {
		s.met.reloadFailed.Inc()
		s.met.reloadRefused.Set(1)
		s.log.Error("reload refused: keeping the running policy and catalog", "generation", old.gen, "err", err)
		// Do not retry the same broken files on every watch tick. The
		// stamp is the one taken before reading: if the file was still
		// being written, its final form has another stamp and is tried.
		s.badStamp = before.stamp
		return err
	}
	// The new policy's groups of the clients already known are in place
	// before its first query; a policy that starts to use them asks for a
	// read at once.
	s.clients.mu.Lock()
	st.devices.Store(s.clients.devicesFor(st.pol))
	s.state.Store(st)
	s.clients.mu.Unlock()
	if st.pol.HasDeviceGroups() {
		s.clients.wake()
	}
	s.met.reloadRefused.Set(0)
	s.met.reloadOK.Inc()
	s.met.generation.Set(float64(st.gen))
	s.log.Info("reloaded policy and catalog", "rules", len(st.pol.Rules), "names", st.pol.NameCount(), "entities", len(st.ix.Entities))
	// The old state's tables (a million names) are garbage now: give the
	// memory back rather than wait for the scavenger.
	go debug.FreeOSMemory()
	return nil
}

// watch reloads when the watched files change.
func (s *Server) watch(ctx context.Context) {
	if s.cfg.Reload.Watch <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.Reload.Watch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := s.state.Load()
		now := s.stampFiles(s.namesFiles(st))
		s.reloadMu.Lock()
		bad := s.badStamp
		s.reloadMu.Unlock()
		if now != st.stamp && now != bad {
			_ = s.Reload()
		}
	}
}

// CatalogLoader is the resolver's default Deps.LoadCatalog: the built-in
// catalog with dirs on top, every directory required to exist.
func CatalogLoader(dirs []string) func(time.Time) (*catalog.Index, error) {
	return func(at time.Time) (*catalog.Index, error) {
		for _, d := range dirs {
			if _, err := os.Stat(d); err != nil {
				return nil, err
			}
		}
		ix, err := catalog.Open(at, dirs...)
		if err != nil {
			var ps catalog.Problems
			if errors.As(err, &ps) && len(ps) > 10 {
				return nil, fmt.Errorf("%w\n... %d problems", ps[:10], len(ps))
			}
		}
		return ix, err
	}
}
