package auth

import (
	"context"
	"errors"
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

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(3, time.Minute, 4)
	for i := range 3 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("attempt %d refused within the burst", i)
		}
		l.Fail("a", t0)
	}
	ok, wait := l.Allow("a", t0)
	if ok || wait != time.Minute {
		t.Fatalf("after the burst: Allow = %v, %v; want false, 1m", ok, wait)
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key is refused")
	}
	if ok, _ := l.Allow("a", t0.Add(61*time.Second)); !ok {
		t.Fatal("refused after a refill")
	}
	l.Fail("a", t0.Add(61*time.Second))
	if ok, _ := l.Allow("a", t0.Add(62*time.Second)); ok {
		t.Fatal("allowed twice on one refill")
	}
	l.Reset("a")
	if ok, _ := l.Allow("a", t0); !ok {
		t.Fatal("refused after Reset")
	}

	// Full: keys whose buckets are full again are forgotten, the others kept.
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		l.Fail(k, t0)
	}
	if ok, _ := l.Allow("k5", t0); ok {
		t.Fatal("a new key allowed while the table is full of fresh failures")
	}
	if ok, _ := l.Allow("k5", t0.Add(time.Hour)); !ok {
		t.Fatal("a new key refused although every old key has refilled")
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

	// Per client: five wrong passwords for different users lock the client.
	for i, u := range []string{"ana", "ben", "x1", "x2", "x3"} {
		if _, err := a.Login(ctx, one, u, "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := a.Login(ctx, one, "ben", "other")
	var le *LimitedError
	if !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Fatalf("sixth attempt with the right password: %v, want LimitedError", err)
	}
	// ... but not another client for ben, who failed only once.
	if _, err := a.Login(ctx, two, "ben", "other"); err != nil {
		t.Fatalf("other client: %v", err)
	}
	// Per user: ana, guessed from many addresses, is locked for all.
	for i := range 4 {
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		if _, err := a.Login(ctx, ip, "ana", "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	if _, err := a.Login(ctx, two, "ana", "s3cret pass"); !errors.As(err, &le) {
		t.Fatalf("ana after six failures: %v, want LimitedError", err)
	}
	c.t = c.t.Add(2 * time.Minute)
	if _, err := a.Login(ctx, two, "ana", "s3cret pass"); err != nil {
		t.Fatalf("ana after the refill: %v", err)
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
