package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Backoff locks a key (a user at a client address, or a client address
// alone) out after Free wrong passwords: for Base, doubling with each
// further failure up to Max, the way fail2ban's incremental bans do. A
// locked key is refused before its password is even checked, so that
// guessing costs the guesser time and not the server CPU.
//
// A key is forgotten, and its count starts over, once it has been quiet
// (no failure, no lock running) for Max. Memory is bounded by MaxKeys:
// when the table is full a sample of keys is looked at and the quietest
// one that is not locked is dropped; when every sampled key is locked,
// the new key is refused. Refusing is the safe side: it takes MaxKeys
// locked keys, each Free failures deep, before anyone new is turned away.
type Backoff struct {
	free    int
	base    time.Duration
	max     time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*lockout
}

type lockout struct {
	fails int
	until time.Time // locked before this
	last  time.Time // last failure
}

// evictSample is how many keys a full table looks at for one to drop:
// enough to find a quiet key, few enough that a full table costs a login
// microseconds, not a scan of every key.
const evictSample = 64

// NewBackoff returns a table allowing free failures a key, then locking it
// for base, doubled each further failure up to max, holding at most
// maxKeys keys.
func NewBackoff(free int, base, max time.Duration, maxKeys int) *Backoff {
	if free < 1 {
		free = 1
	}
	if max < base {
		max = base
	}
	if maxKeys < 1 {
		maxKeys = 1
	}
	return &Backoff{free: free, base: base, max: max, maxKeys: maxKeys, keys: map[string]*lockout{}}
}

// quiet says whether e can be forgotten at now.
func (b *Backoff) quiet(e *lockout, now time.Time) bool {
	end := e.last
	if e.until.After(end) {
		end = e.until
	}
	return now.Sub(end) >= b.max
}

// Allow says whether key may try a password now and, if not, how long it
// must wait.
func (b *Backoff) Allow(key string, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.keys[key]
	if e == nil {
		if len(b.keys) >= b.maxKeys && !b.makeRoom(now) {
			return false, b.base
		}
		return true, 0
	}
	if now.Before(e.until) {
		return false, e.until.Sub(now)
	}
	return true, 0
}

// Fail records a wrong password for key and returns how long the key is
// now locked (0: not locked).
func (b *Backoff) Fail(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.keys[key]
	switch {
	case e == nil:
		if len(b.keys) >= b.maxKeys && !b.makeRoom(now) {
			return 0 // not counted; Allow refuses this key while the table is full
		}
		e = &lockout{}
		b.keys[key] = e
	case b.quiet(e, now):
		*e = lockout{}
	}
	e.fails++
	e.last = now
	if e.fails < b.free {
		return 0
	}
	d := b.base
	for n := e.fails - b.free; n > 0 && d < b.max; n-- {
		d *= 2
	}
	if d > b.max || d <= 0 {
		d = b.max
	}
	e.until = now.Add(d)
	return d
}

// Reset forgets key (after a right password).
func (b *Backoff) Reset(key string) {
	b.mu.Lock()
	delete(b.keys, key)
	b.mu.Unlock()
}

// makeRoom drops quiet keys among a sample of the table, else the sampled
// unlocked key whose last failure is oldest. It says whether there is
// room now.
func (b *Backoff) makeRoom(now time.Time) bool {
	var (
		victim string
		oldest time.Time
		n      int
	)
	for k, e := range b.keys { // map order is random: a fresh sample each time
		if n++; n > evictSample {
			break
		}
		if b.quiet(e, now) {
			delete(b.keys, k)
			continue
		}
		if now.Before(e.until) {
			continue
		}
		if victim == "" || e.last.Before(oldest) {
			victim, oldest = k, e.last
		}
	}
	if len(b.keys) < b.maxKeys {
		return true
	}
	if victim == "" {
		return false
	}
	delete(b.keys, victim)
	return true
}

// ClientKey is the key of a client address: the address itself for IPv4,
// its /64 for IPv6 (one host has a whole /64 to pick from).
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

// PairKey is the key of a user name tried from a client address. The
// client part holds no NUL, so the first NUL splits the two and two pairs
// never share a key.
func PairKey(user string, client netip.Addr) string {
	return "p:" + ClientKey(client)[2:] + "\x00" + user
}
