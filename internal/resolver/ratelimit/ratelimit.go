// Package ratelimit limits queries per client address with a token bucket
// per address, in a fixed-size table: memory does not grow with the number
// of clients, and a flood of spoofed sources only evicts buckets (a client
// whose bucket was evicted starts again with a full one).
//
// Allow does not allocate. It must never import other outflow packages.
package ratelimit

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Config of the limiter. A Rate of 0 disables it.
type Config struct {
	Rate    float64 `yaml:"qps"`     // sustained queries per second per client
	Burst   float64 `yaml:"burst"`   // bucket size
	Clients int     `yaml:"clients"` // buckets kept (memory bound: about 40 bytes each)
	// IPv6 clients are limited per /56 (IPv4 per address): one host holds a
	// whole /64 or more.
	V6Prefix int `yaml:"ipv6_prefix"`
}

// DefaultConfig allows a busy NAT gateway (hundreds of devices) through
// and stops a single host flooding the resolver.
func DefaultConfig() Config {
	return Config{Rate: 1000, Burst: 2000, Clients: 65536, V6Prefix: 56}
}

type bucket struct {
	key    netip.Addr
	tokens float64
	last   int64 // unix nanoseconds
}

const stripes = 64

// Limiter is safe for concurrent use.
type Limiter struct {
	cfg     Config
	seed    maphash.Seed
	mask    uint64
	buckets []bucket
	locks   [stripes]sync.Mutex
	limited atomic.Uint64
}

// New returns a limiter; nil when the configuration disables limiting.
func New(cfg Config) *Limiter {
	if cfg.Rate <= 0 {
		return nil
	}
	if cfg.Burst < 1 {
		cfg.Burst = max(1, cfg.Rate)
	}
	n := 1024
	for n < cfg.Clients {
		n <<= 1
	}
	if cfg.V6Prefix <= 0 || cfg.V6Prefix > 128 {
		cfg.V6Prefix = 56
	}
	return &Limiter{cfg: cfg, seed: maphash.MakeSeed(), mask: uint64(n - 1), buckets: make([]bucket, n)}
}

// Allow takes a token for the client at now (unix nanoseconds). A nil
// limiter allows everything.
func (l *Limiter) Allow(client netip.Addr, now int64) bool {
	if l == nil {
		return true
	}
	client = client.Unmap().WithZone("")
	if client.Is6() {
		client = netip.PrefixFrom(client, l.cfg.V6Prefix).Masked().Addr()
	}
	a := client.As16()
	i := maphash.Bytes(l.seed, a[:]) & l.mask
	mu := &l.locks[i%stripes]
	mu.Lock()
	b := &l.buckets[i]
	if b.key != client {
		*b = bucket{key: client, tokens: l.cfg.Burst, last: now}
	} else if now > b.last {
		b.tokens = min(l.cfg.Burst, b.tokens+float64(now-b.last)*l.cfg.Rate/1e9)
		b.last = now
	}
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	mu.Unlock()
	if !ok {
		l.limited.Add(1)
	}
	return ok
}
