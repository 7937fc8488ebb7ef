package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter counts wrong passwords per key (a client address, a user name)
// with a token bucket: Burst failures are free, then one more is allowed
// every Refill. A key whose bucket is empty is refused before its password
// is even checked, so that guessing costs the guesser time and not the
// server CPU.
//
// Its memory is bounded: at MaxKeys it forgets the keys whose bucket is
// full again and, if none is, refuses new keys until one is. Refusing is
// the safe side: a spray from very many addresses locks logins for a few
// minutes rather than allowing unlimited guesses.
type Limiter struct {
	Burst   int
	Refill  time.Duration
	MaxKeys int

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter allowing burst failures, then one per refill.
func NewLimiter(burst int, refill time.Duration, maxKeys int) *Limiter {
	return &Limiter{Burst: burst, Refill: refill, MaxKeys: maxKeys, keys: map[string]*bucket{}}
}

// level returns the key's tokens now (without changing them).
func (l *Limiter) level(b *bucket, now time.Time) float64 {
	if b == nil {
		return float64(l.Burst)
	}
	t := b.tokens + float64(now.Sub(b.at))/float64(l.Refill)
	if t > float64(l.Burst) {
		t = float64(l.Burst)
	}
	return t
}

// Allow says whether key may try a password now and, if not, how long it
// must wait.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil && len(l.keys) >= l.MaxKeys {
		l.prune(now)
		if len(l.keys) >= l.MaxKeys {
			return false, l.Refill
		}
	}
	t := l.level(b, now)
	if t >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - t) * float64(l.Refill))
}

// Fail records a wrong password for key.
func (l *Limiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= l.MaxKeys {
			l.prune(now)
			if len(l.keys) >= l.MaxKeys {
				return
			}
		}
		b = &bucket{}
		l.keys[key] = b
	}
	b.tokens = l.level(b, now) - 1
	if b.tokens < 0 {
		b.tokens = 0
	}
	b.at = now
}

// Reset forgets key (after a right password from a client).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

func (l *Limiter) prune(now time.Time) {
	for k, b := range l.keys {
		if l.level(b, now) >= float64(l.Burst) {
			delete(l.keys, k)
		}
	}
}

// ClientKey is the limiter key of a client address: the address itself for
// IPv4, its /64 for IPv6 (one host has a whole /64 to pick from).
func ClientKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return "c:" + p.String()
		}
	}
	return "c:" + a.String()
}

// UserKey is the limiter key of a user name.
func UserKey(name string) string { return "u:" + name }
