package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// Session is a logged-in user.
type Session struct {
	User    string
	Role    Role
	Created time.Time
	Seen    time.Time
}

// sessions are kept in memory, by the SHA-256 of their id so that a dump
// of the process's maps does not hand out live cookies. A restart logs
// everyone out, which a dashboard can afford.
type sessions struct {
	ttl, idle time.Duration
	max       int

	mu sync.Mutex
	m  map[[32]byte]*Session
}

func newSessions(ttl, idle time.Duration, max int) *sessions {
	return &sessions{ttl: ttl, idle: idle, max: max, m: map[[32]byte]*Session{}}
}

// randomID returns 32 random bytes, base64url without padding.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(user string, role Role, now time.Time) string {
	id := randomID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.prune(now)
	}
	if len(s.m) >= s.max { // still full: the oldest goes
		var oldK [32]byte
		var old *Session
		for k, v := range s.m {
			if old == nil || v.Created.Before(old.Created) {
				oldK, old = k, v
			}
		}
		delete(s.m, oldK)
	}
	s.m[sha256.Sum256([]byte(id))] = &Session{User: user, Role: role, Created: now, Seen: now}
	return id
}

func (s *sessions) live(v *Session, now time.Time) bool {
	return now.Sub(v.Created) < s.ttl && now.Sub(v.Seen) < s.idle
}

func (s *sessions) get(id string, now time.Time) (Session, bool) {
	if id == "" || len(id) > 128 {
		return Session{}, false
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[k]
	if v == nil {
		return Session{}, false
	}
	if !s.live(v, now) {
		delete(s.m, k)
		return Session{}, false
	}
	v.Seen = now
	return *v, true
}

func (s *sessions) drop(id string) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

func (s *sessions) prune(now time.Time) {
	for k, v := range s.m {
		if !s.live(v, now) {
			delete(s.m, k)
		}
	}
}
