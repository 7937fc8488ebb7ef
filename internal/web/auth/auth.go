package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// User is a dashboard user of the configuration file.
type User struct {
	Name string `yaml:"name"`
	// PasswordHash is an argon2id (PHC string) or bcrypt hash, as
	// `outflow serve hash-password` prints it.
	PasswordHash string `yaml:"password_hash"`
	// Role is admin (may change the policy and upload apps) or viewer
	// (reads only); empty means viewer, so that a user written before
	// roles existed gains nothing.
	Role Role `yaml:"role"`
}

// Role is what a user may do.
type Role string

// Roles.
const (
	Viewer Role = "viewer"
	Admin  Role = "admin"
)

// orViewer is r, or Viewer when r is empty.
func (r Role) orViewer() Role {
	if r == "" {
		return Viewer
	}
	return r
}

// Proxy is single sign-on through a reverse proxy: the proxy
// authenticates and names the user in Header. The header is believed only
// from the dashboard's trusted_proxies (the connection's peer, not
// X-Forwarded-For); anyone else's is ignored. Users it names are viewers
// unless listed in Admins.
type Proxy struct {
	Header string   `yaml:"header"`
	Admins []string `yaml:"admins"`
}

// Enabled says whether proxy authentication is configured.
func (p Proxy) Enabled() bool { return p.Header != "" }

// Token is a read-only API token: the configuration holds the SHA-256 of
// the token, never the token (`outflow serve new-token` prints both).
type Token struct {
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256"`
}

// Config is the access section of the dashboard's configuration.
type Config struct {
	Users  []User  `yaml:"users"`
	Tokens []Token `yaml:"tokens"`
	Proxy  Proxy   `yaml:"proxy"`
	// SessionTTL is how long a login lasts at most; SessionIdle logs out a
	// session unused for that long.
	SessionTTL  time.Duration `yaml:"session_ttl"`
	SessionIdle time.Duration `yaml:"session_idle"`
	// FailBurst wrong passwords for one user from one client address lock
	// that pair (not the user: the right password from elsewhere still
	// works) for FailRefill, doubled with each further failure up to
	// FailMax. ClientFailBurst wrong passwords from one address, whatever
	// the users, lock the address the same way (password spraying).
	FailBurst       int           `yaml:"fail_burst"`
	FailRefill      time.Duration `yaml:"fail_refill"`
	FailMax         time.Duration `yaml:"fail_max"`
	ClientFailBurst int           `yaml:"client_fail_burst"`
}

// DefaultConfig: 12-hour sessions, logged out after an idle hour; five
// wrong passwords for a user from an address, or twenty from an address,
// lock it for a minute, then 2, 4, 8... minutes up to an hour.
func DefaultConfig() Config {
	return Config{SessionTTL: 12 * time.Hour, SessionIdle: time.Hour,
		FailBurst: 5, FailRefill: time.Minute, FailMax: time.Hour, ClientFailBurst: 20}
}

// Validate checks names, hashes and durations.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Name == "" || len(u.Name) > 64 || strings.ContainsAny(u.Name, " \t\r\n:"):
			errs = append(errs, fmt.Errorf("users[%d]: name must be 1 to 64 characters without spaces or colons", i))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("users[%d]: %q listed twice", i, u.Name))
		}
		seen[u.Name] = true
		if err := CheckHash(u.PasswordHash); err != nil {
			errs = append(errs, fmt.Errorf("users[%d] (%s): %w", i, u.Name, err))
		}
		if r := u.Role.orViewer(); r != Viewer && r != Admin {
			errs = append(errs, fmt.Errorf("users[%d] (%s): role %q: want admin or viewer", i, u.Name, u.Role))
		}
	}
	if h := c.Proxy.Header; h != "" && (strings.ContainsAny(h, " \t\r\n:") || len(h) > 64) {
		errs = append(errs, fmt.Errorf("proxy.header %q: not a header name", h))
	}
	if c.Proxy.Header == "" && len(c.Proxy.Admins) > 0 {
		errs = append(errs, errors.New("proxy.admins without proxy.header"))
	}
	for i, t := range c.Tokens {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("tokens[%d]: name is required", i))
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("tokens[%d] (%s): sha256 must be 64 hex digits", i, t.Name))
		}
	}
	if c.SessionTTL <= 0 || c.SessionIdle <= 0 {
		errs = append(errs, errors.New("session_ttl and session_idle must be positive"))
	}
	if c.FailBurst < 1 || c.FailRefill <= 0 {
		errs = append(errs, errors.New("fail_burst must be at least 1 and fail_refill positive"))
	}
	if c.FailMax < c.FailRefill {
		errs = append(errs, errors.New("fail_max must be at least fail_refill"))
	}
	if c.ClientFailBurst < c.FailBurst {
		errs = append(errs, errors.New("client_fail_burst must be at least fail_burst"))
	}
	return errors.Join(errs...)
}

// Errors of Login.
var (
	ErrBadLogin = errors.New("wrong user name or password")
	ErrBusy     = errors.New("too many logins at once")
)

// LimitedError is a login refused before checking the password.
type LimitedError struct{ RetryAfter time.Duration }

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many wrong passwords; retry in %s", e.RetryAfter.Round(time.Second))
}

// maxLockKeys bounds each failure table (about 100 bytes a key).
const maxLockKeys = 65536

// Authenticator checks passwords, tokens, sessions and CSRF tokens.
type Authenticator struct {
	users  map[string]string // name -> hash
	roles  map[string]Role
	proxy  Proxy
	tokens map[[32]byte]string
	sess   *sessions
	pairs  *Backoff // user at a client address
	addrs  *Backoff // client address, any user
	key    []byte   // HMAC key of CSRF tokens, new each start
	slots  chan struct{}
	dummy  string // hash checked for unknown users, so that they cost the same
	now    func() time.Time
}

// New builds an Authenticator from a validated Config; now is the clock.
func New(c Config, now func() time.Time) (*Authenticator, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a := &Authenticator{
		users:  map[string]string{},
		roles:  map[string]Role{},
		proxy:  c.Proxy,
		tokens: map[[32]byte]string{},
		sess:   newSessions(c.SessionTTL, c.SessionIdle, 10000),
		pairs:  NewBackoff(c.FailBurst, c.FailRefill, c.FailMax, maxLockKeys),
		addrs:  NewBackoff(c.ClientFailBurst, c.FailRefill, c.FailMax, maxLockKeys),
		key:    make([]byte, 32),
		slots:  make(chan struct{}, 2),
		now:    now,
	}
	_, _ = rand.Read(a.key)
	for _, u := range c.Users {
		a.users[u.Name] = u.PasswordHash
		a.roles[u.Name] = u.Role.orViewer()
		if a.dummy == "" {
			a.dummy = u.PasswordHash
		}
	}
	for _, t := range c.Tokens {
		var k [32]byte
		b, _ := hex.DecodeString(t.SHA256)
		copy(k[:], b)
		a.tokens[k] = t.Name
	}
	return a, nil
}

// Enabled says whether any user is configured, or a proxy names them,
// that is whether pages need a login.
func (a *Authenticator) Enabled() bool { return len(a.users) > 0 || a.proxy.Enabled() }

// ProxyHeader is the header a trusted proxy names the user in; "" when
// proxy authentication is off.
func (a *Authenticator) ProxyHeader() string { return a.proxy.Header }

// ProxyLogin starts a session for a user a trusted proxy authenticated:
// an admin when listed in proxy.admins, a viewer otherwise.
func (a *Authenticator) ProxyLogin(user string) (string, error) {
	if !a.proxy.Enabled() {
		return "", ErrBadLogin
	}
	if user == "" || len(user) > 64 || strings.ContainsAny(user, "\r\n\x00") {
		return "", ErrBadLogin
	}
	role := Viewer
	for _, n := range a.proxy.Admins {
		if n == user {
			role = Admin
		}
	}
	return a.sess.create(user, role, a.now()), nil
}

// Login checks a password from client. It returns the new session's id,
// a *LimitedError when the client address, or this user from this
// address, has failed too often (the password is then not checked),
// ErrBadLogin, or ErrBusy when ctx ends while other logins hold every
// hashing slot.
//
// Failures are counted per (user, address) pair and per address, never
// per user alone: a guesser elsewhere cannot lock the real user out.
// Spreading guesses for one user over many addresses is slowed by the
// hashing slots, and each address still locks after FailBurst.
func (a *Authenticator) Login(ctx context.Context, client netip.Addr, user, password string) (string, error) {
	now := a.now()
	ck, pk := ClientKey(client), PairKey(user, client)
	okAddr, waitAddr := a.addrs.Allow(ck, now)
	okPair, waitPair := a.pairs.Allow(pk, now)
	if !okAddr || !okPair {
		return "", &LimitedError{RetryAfter: max(waitAddr, waitPair, time.Second)}
	}
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return "", ErrBusy
	}
	hash, known := a.users[user]
	if !known {
		hash = a.dummy
	}
	err := ErrBadLogin
	if hash != "" {
		err = VerifyPassword(hash, password)
	}
	<-a.slots
	if err != nil || !known {
		now = a.now()
		a.addrs.Fail(ck, now)
		a.pairs.Fail(pk, now)
		return "", ErrBadLogin
	}
	// The address's count stays: one good login does not buy a sprayer
	// from the same address another round of guesses.
	a.pairs.Reset(pk)
	return a.sess.create(user, a.roles[user], a.now()), nil
}

// Session returns the live session of id and marks it used.
func (a *Authenticator) Session(id string) (Session, bool) { return a.sess.get(id, a.now()) }

// Logout ends session id.
func (a *Authenticator) Logout(id string) { a.sess.drop(id) }

// TokenName returns the name of a valid API token.
func (a *Authenticator) TokenName(token string) (string, bool) {
	if token == "" || len(token) > 256 {
		return "", false
	}
	name, ok := a.tokens[sha256.Sum256([]byte(token))]
	return name, ok
}

// CSRFToken is the token a form posted by the holder of binding (a
// session id, or the pre-login cookie) must carry.
func (a *Authenticator) CSRFToken(binding string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF says whether token is binding's CSRF token.
func (a *Authenticator) CheckCSRF(binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a.CSRFToken(binding)), []byte(token)) == 1
}

// NewToken returns a fresh API token and the SHA-256 (hex) that the
// configuration file stores.
func NewToken() (token, sum string) {
	token = "oft_" + randomID()
	s := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(s[:])
}

// NewID returns a random identifier for cookies.
func NewID() string { return randomID() }
