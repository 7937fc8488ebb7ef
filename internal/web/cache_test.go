package web

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// counting is the real store with a count of the questions asked of it,
// and an Info that the test can make report a change.
type counting struct {
	store.Reader
	overviews, devices atomic.Int64
	extra              atomic.Int64 // added to Info's flows: a write happened
}

func (c *counting) Overview(ctx context.Context, f store.Filter) (*store.Overview, error) {
	c.overviews.Add(1)
	return c.Reader.Overview(ctx, f)
}

func (c *counting) Devices(ctx context.Context, f store.Filter) ([]store.DeviceSummary, error) {
	c.devices.Add(1)
	return c.Reader.Devices(ctx, f)
}

func (c *counting) Info(ctx context.Context) (*store.Info, error) {
	inf, err := c.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	cp := *inf
	cp.Flows += c.extra.Load()
	return &cp, nil
}

func TestResultCache(t *testing.T) {
	c := &counting{Reader: testStore(t)}
	clock := testNow
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s, err := New(DefaultConfig(), Deps{Reader: c, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, logs: &syncBuffer{}}
	get := func(target string) {
		t.Helper()
		if resp := ts.do(t, req{target: target}); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
	}
	get("/")
	get("/api/overview")
	if n := c.overviews.Load(); n != 1 {
		t.Fatalf("overview asked %d times for the same question, want 1", n)
	}
	get("/?period=week")
	if n := c.overviews.Load(); n != 2 {
		t.Fatalf("another period: asked %d times, want 2", n)
	}
	// Concurrent identical questions are asked once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); ts.do(t, req{target: "/devices?period=quarter"}) }()
	}
	wg.Wait()
	if n := c.devices.Load(); n != 3 { // the top 8 of the month and of the week, and this
		t.Fatalf("devices asked %d times, want 3", n)
	}
	// A write: once Info is read again, the answers are asked again.
	c.extra.Store(1)
	get("/")
	if n := c.overviews.Load(); n != 2 {
		t.Fatalf("Info not read again yet: overview asked %d times, want 2", n)
	}
	mu.Lock()
	clock = clock.Add(infoTTL + time.Second)
	mu.Unlock()
	get("/")
	if n := c.overviews.Load(); n != 3 {
		t.Fatalf("after the store changed: overview asked %d times, want 3", n)
	}
}

func TestWarmAtStart(t *testing.T) {
	c := &counting{Reader: testStore(t)}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	s, err := New(cfg, Deps{Reader: c, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The default pages are computed in the background.
	for deadline := time.Now().Add(20 * time.Second); c.overviews.Load() == 0 || c.devices.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the default pages were not computed after Start")
		}
	}
	for !func() bool { s.results.mu.Lock(); defer s.results.mu.Unlock(); return !s.results.warming }() {
		time.Sleep(10 * time.Millisecond)
	}
	n := c.overviews.Load()
	ts := &testServer{Server: s, logs: &syncBuffer{}}
	if resp := ts.do(t, req{target: "/"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if c.overviews.Load() != n {
		t.Fatal("the overview was asked of the store again: the warm-up did not ask the page's question")
	}
}
