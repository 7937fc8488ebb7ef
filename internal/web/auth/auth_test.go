package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := HashPassword(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifyPassword(t *testing.T) {
	argon := mustHash(t, "correct horse")
	bc, err := bcrypt.GenerateFromPassword([]byte("battery staple"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	def, err := HashPassword("default cost", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash, pw string
		want           error // nil, ErrMismatch, or errBadHash
	}{
		{"argon2id right", argon, "correct horse", nil},
		{"argon2id wrong", argon, "correct horse ", ErrMismatch},
		{"argon2id empty", argon, "", ErrMismatch},
		{"argon2id default params", def, "default cost", nil},
		{"bcrypt right", string(bc), "battery staple", nil},
		{"bcrypt wrong", string(bc), "battery", ErrMismatch},
		{"too long", argon, strings.Repeat("x", maxPass+1), ErrMismatch},
		{"plain text", "correct horse", "correct horse", errBadHash},
		{"md5 crypt", "$1$abc$def", "x", errBadHash},
		{"argon2i", strings.Replace(argon, "argon2id", "argon2i", 1), "correct horse", errBadHash},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "x", errBadHash},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "x", errBadHash},
		{"old version", strings.Replace(argon, "v=19", "v=16", 1), "correct horse", errBadHash},
		{"missing key", argon[:strings.LastIndex(argon, "$")], "correct horse", errBadHash},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!!$a2V5a2V5a2V5a2V5a2V5a2V5", "x", errBadHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyPassword(tc.hash, tc.pw)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("VerifyPassword = %v, want nil", err)
			case tc.want == ErrMismatch && !errors.Is(err, ErrMismatch):
				t.Fatalf("VerifyPassword = %v, want ErrMismatch", err)
			case tc.want == errBadHash && (err == nil || errors.Is(err, ErrMismatch)):
				t.Fatalf("VerifyPassword = %v, want a hash error", err)
			}
			if (CheckHash(tc.hash) != nil) != (tc.want == errBadHash) {
				t.Fatalf("CheckHash = %v, want error %v", CheckHash(tc.hash), tc.want == errBadHash)
			}
		})
	}
}

var errBadHash = errors.New("bad hash")

func TestHashPasswordSalted(t *testing.T) {
	a, b := mustHash(t, "same"), mustHash(t, "same")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := HashPassword("", cheap); err == nil {
		t.Fatal("empty password hashed")
	}
}

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	b := NewBackoff(3, time.Minute, 10*time.Minute, 4)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for i := range 2 {
		if ok, _ := b.Allow("a", t0); !ok {
			t.Fatalf("attempt %d refused within the free failures", i)
		}
		if d := b.Fail("a", t0); d != 0 {
			t.Fatalf("failure %d locks for %s", i, d)
		}
	}
	// The third failure locks for a minute, then each one doubles the lock
	// up to the ceiling.
	var now time.Duration
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute} {
		if d := b.Fail("a", at(now)); d != want {
			t.Fatalf("failure %d: locked for %s, want %s", i+3, d, want)
		}
		ok, wait := b.Allow("a", at(now+time.Second))
		if ok || wait != want-time.Second {
			t.Fatalf("failure %d: Allow = %v, %s; want false, %s", i+3, ok, wait, want-time.Second)
		}
		if ok, _ := b.Allow("b", at(now)); !ok {
			t.Fatal("another key is refused")
		}
		now += want
		if ok, _ := b.Allow("a", at(now)); !ok {
			t.Fatalf("failure %d: still refused when the lock ends", i+3)
		}
	}
	// However many failures, the lock stays at the ceiling.
	long := NewBackoff(1, time.Minute, 10*time.Minute, 4)
	for i := range 200 {
		if d := long.Fail("k", t0); d <= 0 || d > 10*time.Minute || i >= 4 && d != 10*time.Minute {
			t.Fatalf("failure %d: locked for %s", i+1, d)
		}
	}
	// Quiet for the ceiling after the lock: the count starts over.
	now += 10 * time.Minute
	if d := b.Fail("a", at(now)); d != 0 {
		t.Fatalf("after a quiet period the first failure locks for %s", d)
	}
	b.Reset("a")
	if b.Len() != 0 {
		t.Fatalf("Len = %d after Reset", b.Len())
	}

	// Full: unlocked keys make room, the oldest first; locked keys stay and
	// a new key is refused when every key is locked.
	b = NewBackoff(2, time.Minute, 10*time.Minute, 3)
	b.Fail("old", t0)
	b.Fail("new", t0.Add(time.Second))
	b.Fail("locked", t0)
	b.Fail("locked", t0)
	if ok, _ := b.Allow("fresh", t0.Add(2*time.Second)); !ok {
		t.Fatal("a new key refused although unlocked keys can make room")
	}
	b.Fail("fresh", t0.Add(2*time.Second))
	if ok, _ := b.Allow("locked", t0.Add(3*time.Second)); ok {
		t.Fatal("making room dropped a locked key")
	}
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want the bound 3", b.Len())
	}
	for _, k := range []string{"new", "fresh"} {
		b.Fail(k, t0.Add(4*time.Second))
	}
	if ok, wait := b.Allow("another", t0.Add(5*time.Second)); ok || wait <= 0 {
		t.Fatalf("a new key allowed while every key is locked: %v, %s", ok, wait)
	}
	if d := b.Fail("another", t0.Add(5*time.Second)); d != 0 || b.Len() != 3 {
		t.Fatalf("a failure on a full locked table: lock %s, Len %d; want 0, 3", d, b.Len())
	}
	// When the locks are over and quiet, the table empties as it is used.
	if ok, _ := b.Allow("another", t0.Add(time.Hour)); !ok {
		t.Fatal("a new key refused although every old key is quiet")
	}
}

func TestBackoffBounded(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	b := NewBackoff(5, time.Minute, time.Hour, 100)
	for i := range 10000 {
		b.Fail(PairKey("ana", netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := b.Len(); n > 100 {
		t.Fatalf("%d keys held, bound 100", n)
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"2001:db8::1", "2001:db8::ffff:1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
	}
	for _, tc := range tests {
		if ClientKey(netip.MustParseAddr(tc.a)) != ClientKey(netip.MustParseAddr(tc.b)) {
			t.Errorf("%s and %s have different keys", tc.a, tc.b)
		}
	}
	if ClientKey(netip.MustParseAddr("192.0.2.1")) == ClientKey(netip.MustParseAddr("192.0.2.2")) {
		t.Error("two IPv4 hosts share a key")
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAuth(t *testing.T) (*Authenticator, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cfg := DefaultConfig()
	cfg.Users = []User{{Name: "ana", PasswordHash: mustHash(t, "s3cret pass")}, {Name: "ben", PasswordHash: mustHash(t, "other")}}
	_, sum := NewToken()
	cfg.Tokens = []Token{{Name: "grafana", SHA256: sum}}
	a, err := New(cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

func TestLoginAndSessions(t *testing.T) {
	a, c := newAuth(t)
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.7")
	if _, err := a.Login(ctx, ip, "ana", "wrong"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := a.Login(ctx, ip, "nobody", "s3cret pass"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown user: %v", err)
	}
	id, err := a.Login(ctx, ip, "ana", "s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := a.Session(id)
	if !ok || s.User != "ana" {
		t.Fatalf("Session = %+v, %v", s, ok)
	}
	if _, ok := a.Session(id + "x"); ok {
		t.Fatal("a changed id is a session")
	}
	c.t = c.t.Add(59 * time.Minute)
	if _, ok := a.Session(id); !ok {
		t.Fatal("session lost before the idle timeout")
	}
	c.t = c.t.Add(61 * time.Minute)
	if _, ok := a.Session(id); ok {
		t.Fatal("session alive after an idle hour")
	}
	id, _ = a.Login(ctx, ip, "ana", "s3cret pass")
	a.Logout(id)
	if _, ok := a.Session(id); ok {
		t.Fatal("session alive after logout")
	}
}

func TestLoginRateLimited(t *testing.T) {
	a, c := newAuth(t)
	ctx := context.Background()
	one, two := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("198.51.100.9")
	var le *LimitedError

	// Per (user, address): five wrong passwords for ana from one address
	// lock ana there...
	for i := range 5 {
		if _, err := a.Login(ctx, one, "ana", "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := a.Login(ctx, one, "ana", "s3cret pass"); !errors.As(err, &le) || le.RetryAfter != time.Minute {
		t.Fatalf("sixth attempt with the right password: %v, want LimitedError for 1m", err)
	}
	// ... and only there: ana from another address, and ben from the same
	// address, still log in.
	if _, err := a.Login(ctx, two, "ana", "s3cret pass"); err != nil {
		t.Fatalf("ana from another address: %v", err)
	}
	if _, err := a.Login(ctx, one, "ben", "other"); err != nil {
		t.Fatalf("ben from the guessing address: %v", err)
	}
	// The lock doubles with each failure after it.
	c.t = c.t.Add(time.Minute)
	if _, err := a.Login(ctx, one, "ana", "guess"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("after the first lock: %v", err)
	}
	if _, err := a.Login(ctx, one, "ana", "s3cret pass"); !errors.As(err, &le) || le.RetryAfter != 2*time.Minute {
		t.Fatalf("after a seventh failure: %v, want LimitedError for 2m", err)
	}
	c.t = c.t.Add(2 * time.Minute)
	if _, err := a.Login(ctx, one, "ana", "s3cret pass"); err != nil {
		t.Fatalf("ana after the lock: %v", err)
	}
	// A success clears the pair: five more failures before the next lock.
	for i := range 4 {
		if _, err := a.Login(ctx, one, "ana", "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("after the success, attempt %d: %v", i, err)
		}
	}

	// Per address: spraying many names from one address locks the address
	// for everyone, at ClientFailBurst failures.
	three := netip.MustParseAddr("203.0.113.3")
	for i := range 19 {
		if _, err := a.Login(ctx, three, fmt.Sprintf("user%d", i), "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	if _, err := a.Login(ctx, three, "ben", "other"); err != nil {
		t.Fatalf("ben before the address's limit: %v", err)
	}
	if _, err := a.Login(ctx, three, "user19", "guess"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("twentieth spray: %v", err)
	}
	if _, err := a.Login(ctx, three, "ben", "other"); !errors.As(err, &le) {
		t.Fatalf("ben from a spraying address: %v, want LimitedError", err)
	}
	if _, err := a.Login(ctx, two, "ben", "other"); err != nil {
		t.Fatalf("ben from another address: %v", err)
	}
}

func TestTokensAndCSRF(t *testing.T) {
	c := &clock{t: time.Now()}
	tok, sum := NewToken()
	cfg := DefaultConfig()
	cfg.Tokens = []Token{{Name: "grafana", SHA256: sum}}
	a, err := New(cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Enabled() {
		t.Fatal("Enabled without users")
	}
	if n, ok := a.TokenName(tok); !ok || n != "grafana" {
		t.Fatalf("TokenName = %q, %v", n, ok)
	}
	if _, ok := a.TokenName(sum); ok {
		t.Fatal("the stored hash works as a token")
	}
	x := a.CSRFToken("session-1")
	if !a.CheckCSRF("session-1", x) {
		t.Fatal("own CSRF token refused")
	}
	for _, bad := range []struct{ bind, tok string }{{"session-2", x}, {"session-1", ""}, {"", a.CSRFToken("")}, {"session-1", x[:10]}} {
		if a.CheckCSRF(bad.bind, bad.tok) {
			t.Errorf("CheckCSRF(%q, %q) accepted", bad.bind, bad.tok)
		}
	}
	b, _ := New(cfg, c.now)
	if b.CheckCSRF("session-1", x) {
		t.Fatal("a token of another process's key accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := mustHash(t, "pw")
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"user", func(c *Config) { c.Users = []User{{Name: "ana", PasswordHash: good}} }, ""},
		{"plain password", func(c *Config) { c.Users = []User{{Name: "ana", PasswordHash: "hunter2"}} }, "neither argon2id"},
		{"duplicate", func(c *Config) {
			c.Users = []User{{Name: "ana", PasswordHash: good}, {Name: "ana", PasswordHash: good}}
		}, "listed twice"},
		{"space in name", func(c *Config) { c.Users = []User{{Name: "a b", PasswordHash: good}} }, "without spaces"},
		{"token not hex", func(c *Config) { c.Tokens = []Token{{Name: "t", SHA256: "oft_abc"}} }, "64 hex digits"},
		{"no burst", func(c *Config) { c.FailBurst = 0 }, "fail_burst"},
		{"ceiling under the first lock", func(c *Config) { c.FailMax = time.Second }, "fail_max"},
		{"address burst under the pair's", func(c *Config) { c.ClientFailBurst = 4 }, "client_fail_burst"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(mustHash(f, "pw"), "pw")
	b, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	f.Add(string(b), "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		h, err := parseHash(hash)
		if err != nil || h.p.Memory > 4096 || h.p.Time > 2 {
			return // rejected, or too costly to run many times
		}
		if cost, _ := bcrypt.Cost([]byte(hash)); h.bcrypt && cost > bcrypt.MinCost {
			return
		}
		_ = VerifyPassword(hash, pw)
	})
}
