package alert

import "time"

// dedupe remembers the keys sent in the last period, at most max of them.
// All keys live equally long, so insertion order is expiry order: a FIFO
// of (key, expiry) evicts the oldest first when full.
type dedupe struct {
	period time.Duration
	max    int
	until  map[string]time.Time
	fifo   []seen // a ring, grown as keys come up to max
	head   int
	n      int
	// evicted counts keys forgotten before their period ended (max reached).
	evicted uint64
}

type seen struct {
	key   string
	until time.Time
}

func newDedupe(period time.Duration, max int) *dedupe {
	return &dedupe{period: period, max: max, until: make(map[string]time.Time)}
}

// fresh reports whether key was not seen in the period, and remembers it.
func (d *dedupe) fresh(key string, now time.Time) bool {
	if d.period <= 0 {
		return true
	}
	for d.n > 0 {
		s := &d.fifo[d.head]
		if now.Before(s.until) && d.n < d.max {
			break
		}
		if now.Before(s.until) {
			d.evicted++
		}
		if d.until[s.key].Equal(s.until) {
			delete(d.until, s.key)
		}
		*s = seen{}
		d.head = (d.head + 1) % len(d.fifo)
		d.n--
	}
	if u, ok := d.until[key]; ok && now.Before(u) {
		return false
	}
	u := now.Add(d.period)
	d.until[key] = u
	if d.n == len(d.fifo) {
		// grow the ring (it is full only below max: at max the loop
		// above made room), oldest first
		ring := make([]seen, min(max(2*len(d.fifo), 64), d.max))
		for i := range d.n {
			ring[i] = d.fifo[(d.head+i)%len(d.fifo)]
		}
		d.fifo, d.head = ring, 0
	}
	d.fifo[(d.head+d.n)%len(d.fifo)] = seen{key, u}
	d.n++
	return true
}

// bucket is a token bucket: rate tokens a second, up to burst.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
