package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// The result cache. A store changes only when something is written to it,
// and what the dashboard asks is a few dozen questions (the pages' default
// filters, and a user's drill-downs), so the readers' answers are kept
// until the store changes: the key is the question, and the generation is
// what Info says the store holds (rows, newest time), read at most every
// infoTTL. Identical questions asked at once are asked of the store once.
// After a change, the default pages are computed again in the background,
// so that a person opening the dashboard does not wait for the store.
//
// Every user sees the same data (there is no per-user view), so one cache
// serves all of them.

const (
	infoTTL      = 15 * time.Second
	cacheEntries = 256
	cacheMaxAge  = 10 * time.Minute
)

type cacheEntry struct {
	gen  string
	at   time.Time
	val  any
	err  error
	done chan struct{} // closed when val and err are set
}

type resultCache struct {
	mu       sync.Mutex
	m        map[string]*cacheEntry
	warming  bool
	warmedAt time.Time
}

// warmEvery bounds how often the default pages are recomputed: a store
// that a resolver writes to all the time changes at every Info read.
const warmEvery = time.Minute

// generation names the store's content as Info last reported it.
func generation(inf *store.Info) string {
	return fmt.Sprintf("%d/%d/%d/%d/%d/%d", inf.Flows, inf.Queries, inf.Audits, inf.Inventory, inf.Last.UnixNano(), inf.PrunedThru.Unix())
}

// cached answers question key with get, or with the answer get gave for
// the same key since the store last changed.
func cached[T any](s *Server, ctx context.Context, key string, get func(context.Context) (T, error)) (T, error) {
	inf, err := s.info(ctx)
	if err != nil {
		return get(ctx)
	}
	gen := generation(inf)
	c := &s.results
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cacheEntry{}
	}
	e := c.m[key]
	now := s.now()
	if e != nil && e.gen == gen && now.Sub(e.at) < cacheMaxAge {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.err == nil {
			v, _ := e.val.(T)
			return v, nil
		}
		// An error (a cancelled request) is not an answer: ask again.
		return get(ctx)
	}
	if len(c.m) >= cacheEntries {
		for k, old := range c.m {
			if old.gen != gen || now.Sub(old.at) >= cacheMaxAge {
				delete(c.m, k)
			}
		}
		if len(c.m) >= cacheEntries {
			c.m = map[string]*cacheEntry{} // all current: start over rather than track use
		}
	}
	e = &cacheEntry{gen: gen, at: now, done: make(chan struct{})}
	c.m[key] = e
	c.mu.Unlock()

	// The store is asked with a context of its own, so that one visitor
	// leaving does not cancel the answer others wait for; bounded in time.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	v, err := get(qctx)
	cancel()
	e.val, e.err = v, err
	close(e.done)
	if err != nil {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
	return v, err
}

func fkey(method string, f store.Filter) string { return fmt.Sprintf("%s %v", method, f) }

// The readers, through the cache.

func (s *Server) overview(ctx context.Context, f store.Filter) (*store.Overview, error) {
	return cached(s, ctx, fkey("overview", f), func(ctx context.Context) (*store.Overview, error) { return s.r.Overview(ctx, f) })
}

func (s *Server) devices(ctx context.Context, f store.Filter) ([]store.DeviceSummary, error) {
	return cached(s, ctx, fkey("devices", f), func(ctx context.Context) ([]store.DeviceSummary, error) { return s.r.Devices(ctx, f) })
}

func (s *Server) device(ctx context.Context, id string, f store.Filter) (*store.DeviceDetail, error) {
	return cached(s, ctx, fkey("device "+id, f), func(ctx context.Context) (*store.DeviceDetail, error) { return s.r.Device(ctx, id, f) })
}

// cachedList wraps a filter reader for listAPI and the pages.
func cachedList[T any](s *Server, name string, get func(context.Context, store.Filter) ([]T, error)) func(context.Context, store.Filter) ([]T, error) {
	return func(ctx context.Context, f store.Filter) ([]T, error) {
		return cached(s, ctx, fkey(name, f), func(ctx context.Context) ([]T, error) { return get(ctx, f) })
	}
}

// warm computes the default pages in the background after the store
// changed (and at start), one at a time, so that they are ready when
// someone opens them. It runs the page handlers themselves, so that the
// questions are exactly the ones a visitor's request asks.
func (s *Server) warm() {
	c := &s.results
	c.mu.Lock()
	if c.warming || (!c.warmedAt.IsZero() && s.now().Sub(c.warmedAt) < warmEvery) {
		c.mu.Unlock()
		return
	}
	c.warming, c.warmedAt = true, s.now()
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			c.warming = false
			c.mu.Unlock()
		}()
		t0 := time.Now()
		for _, p := range []struct {
			path string
			h    http.HandlerFunc
		}{
			{"/", s.overviewPage}, {"/devices", s.devicesPage}, {"/enforcement", s.enforcementPage}, {"/compliance", s.compliancePage},
		} {
			ctx := context.WithValue(context.Background(), ctxKey{}, who{Local: true})
			r, err := http.NewRequestWithContext(ctx, http.MethodGet, p.path, nil)
			if err != nil {
				continue
			}
			p.h(discard{h: http.Header{}}, r)
		}
		s.log.Debug("default pages computed", "ms", time.Since(t0).Milliseconds())
	}()
}

// discard is a ResponseWriter that keeps nothing, for warm.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
