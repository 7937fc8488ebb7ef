package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the Notifier. It maps onto the `alerts:` section of
// the sensor's YAML.
type Config struct {
	Dedupe struct {
		// Period: one alert per kind, device, entity and rule per period
		// (0: no deduplication).
		Period time.Duration `yaml:"period"`
		// MaxKeys bounds the keys remembered; the oldest go first.
		MaxKeys int `yaml:"max_keys"`
	} `yaml:"dedupe"`
	Rate struct {
		// PerSecond alerts on average past deduplication (0: no limit),
		// with bursts of Burst.
		PerSecond float64 `yaml:"per_second"`
		Burst     int     `yaml:"burst"`
	} `yaml:"rate"`
	// Queue bounds the alerts waiting for each sink.
	Queue int `yaml:"queue"`
	Retry struct {
		// Attempts per alert and sink, the first included.
		Attempts int `yaml:"attempts"`
		// Backoff doubles from Initial up to Max between attempts.
		Initial time.Duration `yaml:"initial"`
		Max     time.Duration `yaml:"max"`
	} `yaml:"retry"`
	// Drain bounds how long Close waits for queued alerts.
	Drain    time.Duration   `yaml:"drain"`
	Webhooks []WebhookConfig `yaml:"webhooks"`
	Syslog   []SyslogConfig  `yaml:"syslog"`
	Files    []FileConfig    `yaml:"files"`
}

// DefaultConfig returns the defaults: an alert per key a day, 10 a second
// in bursts of 100, 1000 queued per sink, 5 attempts from 1 s to 1 min.
func DefaultConfig() Config {
	var c Config
	c.Dedupe.Period, c.Dedupe.MaxKeys = 24*time.Hour, 100_000
	c.Rate.PerSecond, c.Rate.Burst = 10, 100
	c.Queue = 1000
	c.Retry.Attempts, c.Retry.Initial, c.Retry.Max = 5, time.Second, time.Minute
	c.Drain = 5 * time.Second
	return c
}

// Validate checks the configuration and names the faulty setting.
func (c Config) Validate() error {
	switch {
	case c.Dedupe.Period < 0 || c.Dedupe.Period > 0 && c.Dedupe.MaxKeys < 1:
		return errors.New("alert: dedupe: period must not be negative, and max_keys at least 1")
	case c.Rate.PerSecond < 0 || c.Rate.PerSecond > 0 && c.Rate.Burst < 1:
		return errors.New("alert: rate: per_second must not be negative, and burst at least 1")
	case c.Queue < 1:
		return fmt.Errorf("alert: queue %d: want at least 1", c.Queue)
	case c.Retry.Attempts < 1 || c.Retry.Initial < 0 || c.Retry.Max < c.Retry.Initial:
		return errors.New("alert: retry: attempts at least 1, initial not negative, max not below initial")
	}
	names := map[string]bool{}
	check := func(name string, err error) error {
		if err != nil {
			return err
		}
		if names[name] {
			return fmt.Errorf("alert: sink name %q used twice", name)
		}
		names[name] = true
		return nil
	}
	for i, w := range c.Webhooks {
		if err := check(w.name(i), w.Validate()); err != nil {
			return err
		}
	}
	for i, s := range c.Syslog {
		if err := check(s.name(i), s.Validate()); err != nil {
			return err
		}
	}
	for i, f := range c.Files {
		if err := check(f.name(i), f.Validate()); err != nil {
			return err
		}
	}
	return nil
}

// Sink delivers alerts somewhere. Send is called from one goroutine per
// sink; an error is retried unless Permanent.
type Sink interface {
	Name() string
	Send(ctx context.Context, a *Alert) error
	Close() error
}

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks a send error that retrying will not fix (a 4xx answer).
func Permanent(err error) error { return permanent{err} }

// Deps are the notifier's dependencies.
type Deps struct {
	Log  *slog.Logger
	Now  func() time.Time
	HTTP *http.Client // for webhooks; default: a client with a 10 s timeout
	// Sinks are added to those of the Config (for tests, or a sink the
	// caller builds).
	Sinks []Sink
}

// Notifier deduplicates, rate limits and delivers alerts. New does no
// I/O; Start starts a goroutine per sink; Close drains and stops.
type Notifier struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	met   *metrics
	sinks []*worker

	mu     sync.Mutex
	dedupe *dedupe
	bucket *bucket
	closed bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the notifier and its sinks.
func New(cfg Config, deps Deps) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	n := &Notifier{cfg: cfg, deps: deps, log: deps.Log, met: newMetrics(),
		dedupe: newDedupe(cfg.Dedupe.Period, max(cfg.Dedupe.MaxKeys, 1)), bucket: newBucket(cfg.Rate.PerSecond, cfg.Rate.Burst)}
	sinks := []Sink{}
	for i, w := range cfg.Webhooks {
		sinks = append(sinks, newWebhook(w, i, deps.HTTP))
	}
	for i, s := range cfg.Syslog {
		sinks = append(sinks, newSyslog(s, i))
	}
	for i, f := range cfg.Files {
		sinks = append(sinks, newFileSink(f, i))
	}
	for _, s := range append(sinks, deps.Sinks...) {
		n.sinks = append(n.sinks, n.newWorker(s))
	}
	return n, nil
}

// Registry holds the notifier's metrics.
func (n *Notifier) Registry() *prometheus.Registry { return n.met.reg }

// Start starts delivering.
func (n *Notifier) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(ctx)
	for _, w := range n.sinks {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			w.run(ctx)
		}()
	}
	return nil
}

// Raise offers an alert; it never blocks. It reports whether the alert
// was queued (to at least one sink): false if deduplicated, rate limited,
// dropped by every full queue, or after Close.
func (n *Notifier) Raise(a Alert) bool {
	if a.Time.IsZero() {
		a.Time = n.deps.Now()
	}
	n.met.raised(a.Kind).Inc()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return false
	}
	now := n.deps.Now()
	if !n.dedupe.fresh(a.key(), now) {
		n.mu.Unlock()
		n.met.deduped.Inc()
		return false
	}
	if !n.bucket.take(now) {
		n.mu.Unlock()
		n.met.limited.Inc()
		return false
	}
	n.met.dedupeEvicted.Set(float64(n.dedupe.evicted))
	queued := false
	for _, w := range n.sinks {
		select {
		case w.q <- &a:
			queued = true
		default:
			w.dropped.Inc()
		}
	}
	n.mu.Unlock()
	return queued
}

// Close stops taking alerts, waits up to Config.Drain for the queues to
// empty, then stops the retries and closes the sinks.
func (n *Notifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, w := range n.sinks {
		close(w.q) // Raise holds mu and checks closed before sending
	}
	n.mu.Unlock()
	if n.cancel != nil {
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(n.cfg.Drain):
			n.cancel()
			<-done
		}
		n.cancel()
	}
	var errs []error
	for _, w := range n.sinks {
		if err := w.sink.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
