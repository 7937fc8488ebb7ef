// Package cache is the resolver's answer cache: responses stored as wire
// bytes with the offsets of their TTLs, bounded in entries, evicted by
// CLOCK (an approximation of LRU that needs no write lock on a hit), with
// prefetch of popular entries before they expire and serve-stale
// (RFC 8767) while upstreams are down.
//
// Find and Use do not allocate. It must never import other outflow packages
// except resolver/wire.
package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// Config bounds and tunes the cache.
type Config struct {
	Size        int           `yaml:"size"`         // entries; 0 disables the cache
	MinTTL      time.Duration `yaml:"min_ttl"`      // floor of positive answers' TTLs
	MaxTTL      time.Duration `yaml:"max_ttl"`      // ceiling of positive answers' TTLs
	NegativeTTL time.Duration `yaml:"negative_ttl"` // ceiling of NXDOMAIN / no-data TTLs
	Stale       time.Duration `yaml:"stale"`        // how long past expiry an answer may be served while upstreams fail; 0 disables
	StaleTTL    time.Duration `yaml:"stale_ttl"`    // TTL given to a stale answer
	Prefetch    bool          `yaml:"prefetch"`     // refresh popular entries before they expire
}

// DefaultConfig is the cache of a resolver for a few thousand clients.
func DefaultConfig() Config {
	return Config{Size: 50_000, MinTTL: 0, MaxTTL: 24 * time.Hour, NegativeTTL: time.Hour,
		Stale: 24 * time.Hour, StaleTTL: 30 * time.Second, Prefetch: true}
}

// State is what Get found.
type State uint8

// States of a lookup.
const (
	Miss     State = iota
	Fresh          // serve it
	Prefetch       // serve it, and refresh it in the background (returned once per entry)
	Expired        // past its TTL: ask upstream; serve it stale if upstream fails (within Config.Stale)
)

// Entry is one cached response; it is immutable once put, except for the
// bookkeeping bits.
type Entry[M any] struct {
	Key     string
	Msg     []byte // the response as stored: ID 0, question lowercase, no OPT
	TTLs    []wire.TTL
	Stored  int64 // unix seconds
	Expires int64 // unix seconds
	TTL     uint32
	Meta    M // the resolver's own data (the parts of the answer the policy must re-check)

	ref        atomic.Bool
	prefetched atomic.Bool
	slot       int // index in its shard's ring, under the shard's lock
}

// Age is the entry's age in seconds at now.
func (e *Entry[M]) Age(now int64) uint32 {
	if now <= e.Stored {
		return 0
	}
	return uint32(min(now-e.Stored, 1<<31))
}

const shards = 64

// Cache is safe for concurrent use.
type Cache[M any] struct {
	cfg    Config
	seed   maphash.Seed
	shards [shards]shard[M]

	hits, misses, evictions, stale atomic.Uint64
}

type shard[M any] struct {
	mu   sync.RWMutex
	m    map[string]*Entry[M]
	ring []*Entry[M]
	hand int
	cap  int
}

// New returns an empty cache.
func New[M any](cfg Config) *Cache[M] {
	c := &Cache[M]{cfg: cfg, seed: maphash.MakeSeed()}
	per := (cfg.Size + shards - 1) / shards
	for i := range c.shards {
		c.shards[i].m = make(map[string]*Entry[M])
		c.shards[i].cap = per
	}
	return c
}

func (c *Cache[M]) shard(key []byte) *shard[M] {
	return &c.shards[maphash.Bytes(c.seed, key)%shards]
}

// Find returns the entry stored under key, or nil, without marking it
// used or counting the lookup: Use does that. A lookup is Find then Use,
// split so that the resolver can look at an entry (its remembered
// verdicts) before it decides to use it.
func (c *Cache[M]) Find(key []byte) *Entry[M] {
	if c.cfg.Size <= 0 {
		return nil
	}
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[string(key)]
	s.mu.RUnlock()
	return e
}

// Use is Get for the entry Find returned (nil: a miss) at now.
func (c *Cache[M]) Use(e *Entry[M], now int64) (*Entry[M], State) {
	if e == nil {
		if c.cfg.Size > 0 {
			c.misses.Add(1)
		}
		return nil, Miss
	}
	e.ref.Store(true)
	if now >= e.Expires {
		if c.cfg.Stale > 0 && now < e.Expires+int64(c.cfg.Stale/time.Second) {
			c.stale.Add(1)
			return e, Expired
		}
		c.misses.Add(1)
		return nil, Miss
	}
	c.hits.Add(1)
	if c.cfg.Prefetch && e.TTL >= 10 && (e.Expires-now)*10 < int64(e.TTL) && e.prefetched.CompareAndSwap(false, true) {
		return e, Prefetch
	}
	return e, Fresh
}

// Put stores an entry under e.Key, replacing any older one. ttl is the
// answer's TTL in seconds, already clamped by the caller (see ClampTTL).
func (c *Cache[M]) Put(e *Entry[M], now int64) {
	if c.cfg.Size <= 0 {
		return
	}
	e.Stored = now
	e.Expires = now + int64(e.TTL)
	s := c.shard([]byte(e.Key))
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[e.Key]; ok {
		e.slot = old.slot
		s.ring[e.slot] = e
		s.m[e.Key] = e
		return
	}
	if len(s.ring) < s.cap {
		e.slot = len(s.ring)
		s.ring = append(s.ring, e)
		s.m[e.Key] = e
		return
	}
	// CLOCK: give referenced entries a second chance, evict the first
	// unreferenced one (an expired one past its stale window counts as
	// unreferenced).
	for n := 0; n < 2*len(s.ring)+1; n++ {
		r := s.ring[s.hand]
		if r.ref.Load() && now < r.Expires+int64(c.cfg.Stale/time.Second) {
			r.ref.Store(false)
			s.hand = (s.hand + 1) % len(s.ring)
			continue
		}
		break
	}
	victim := s.ring[s.hand]
	delete(s.m, victim.Key)
	c.evictions.Add(1)
	e.slot = s.hand
	s.ring[s.hand] = e
	s.m[e.Key] = e
	s.hand = (s.hand + 1) % len(s.ring)
}

// Len is the number of entries.
func (c *Cache[M]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// ClampTTL applies the configured bounds to an answer's TTL in seconds;
// negative says the answer is NXDOMAIN or no data.
func (c *Cache[M]) ClampTTL(ttl uint32, negative bool) uint32 {
	d := time.Duration(ttl) * time.Second
	if negative {
		if c.cfg.NegativeTTL > 0 && d > c.cfg.NegativeTTL {
			d = c.cfg.NegativeTTL
		}
	} else {
		if d < c.cfg.MinTTL {
			d = c.cfg.MinTTL
		}
		if c.cfg.MaxTTL > 0 && d > c.cfg.MaxTTL {
			d = c.cfg.MaxTTL
		}
	}
	return uint32(d / time.Second)
}
