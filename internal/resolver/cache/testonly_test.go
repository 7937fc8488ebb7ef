package cache

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// Stats are the cache's counters since it was made.
type Stats struct {
	Hits, Misses, Evictions, Stale uint64
	Entries                        int
}

// Flush empties the cache.
func (c *Cache[M]) Flush() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.m = make(map[string]*Entry[M])
		s.ring = nil
		s.hand = 0
		s.mu.Unlock()
	}
}

// Stats reads the counters.
func (c *Cache[M]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Stale: c.stale.Load(), Entries: c.Len()}
}

// Get looks a key up at now (unix seconds): Find then Use, as the
// resolver does.
func (c *Cache[M]) Get(key []byte, now int64) (*Entry[M], State) {
	return c.Use(c.Find(key), now)
}
