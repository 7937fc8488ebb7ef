package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the cost of an argon2id hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is OWASP's first recommended argon2id setting (46 MiB,
// one pass, one lane): a check costs tens of milliseconds and 46 MiB, which
// a small machine shared with a resolver can afford for a few logins at
// once (Authenticator bounds how many run together).
var DefaultArgon2 = Argon2Params{Memory: 46 * 1024, Time: 1, Threads: 1}

// Bounds on what a hash in a configuration file may ask for, so that a
// mistyped parameter cannot make every login take minutes or gigabytes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 16
	maxThreads = 16
	saltLen    = 16
	keyLen     = 32
	maxPass    = 1024 // bytes; bcrypt ignores past 72, argon2 would hash megabytes
)

// ErrMismatch is a wrong password.
var ErrMismatch = errors.New("password does not match")

// HashPassword returns an argon2id hash in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key), the form the
// configuration file takes.
func HashPassword(password string, p Argon2Params) (string, error) {
	if password == "" {
		return "", errors.New("hash password: empty password")
	}
	if len(password) > maxPass {
		return "", fmt.Errorf("hash password: longer than %d bytes", maxPass)
	}
	if err := p.check(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func (p Argon2Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time %d out of range", p.Time)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("argon2id parallelism %d out of range", p.Threads)
	}
	return nil
}

// CheckHash says whether encoded is a hash VerifyPassword can use; the
// configuration loader calls it so that a bad hash fails at start-up and
// not at the first login.
func CheckHash(encoded string) error {
	_, err := parseHash(encoded)
	return err
}

// VerifyPassword checks password against an argon2id (PHC string) or
// bcrypt ($2a$, $2b$, $2y$) hash. It returns ErrMismatch for a wrong
// password and another error for a hash it cannot read.
func VerifyPassword(encoded, password string) error {
	h, err := parseHash(encoded)
	if err != nil {
		return err
	}
	if len(password) > maxPass {
		return ErrMismatch
	}
	if h.bcrypt {
		if err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); err != nil {
			if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return ErrMismatch
			}
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		return nil
	}
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	if subtle.ConstantTimeCompare(key, h.key) != 1 {
		return ErrMismatch
	}
	return nil
}

type parsedHash struct {
	bcrypt    bool
	p         Argon2Params
	salt, key []byte
}

func parseHash(encoded string) (parsedHash, error) {
	switch {
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return parsedHash{}, fmt.Errorf("bcrypt hash: %w", err)
		}
		if cost > 16 {
			return parsedHash{}, fmt.Errorf("bcrypt hash: cost %d above 16", cost)
		}
		return parsedHash{bcrypt: true}, nil
	case strings.HasPrefix(encoded, "$argon2id$"):
	default:
		return parsedHash{}, errors.New("password hash: neither argon2id ($argon2id$) nor bcrypt ($2a$, $2b$, $2y$)")
	}
	// $argon2id$v=19$m=65536,t=3,p=4$salt$key
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return parsedHash{}, fmt.Errorf("argon2id hash: %d fields, want 5", len(parts)-1)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return parsedHash{}, fmt.Errorf("argon2id hash: version %q, want v=%d", parts[2], argon2.Version)
	}
	var h parsedHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return parsedHash{}, fmt.Errorf("argon2id hash: parameter %q", kv)
		}
		switch k {
		case "m":
			h.p.Memory = uint32(n)
		case "t":
			h.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return parsedHash{}, fmt.Errorf("argon2id hash: parallelism %d out of range", n)
			}
			h.p.Threads = uint8(n)
		default:
			return parsedHash{}, fmt.Errorf("argon2id hash: unknown parameter %q", k)
		}
	}
	if err := h.p.check(); err != nil {
		return parsedHash{}, fmt.Errorf("argon2id hash: %w", err)
	}
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return parsedHash{}, errors.New("argon2id hash: salt is not base64 of at least 8 bytes")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return parsedHash{}, errors.New("argon2id hash: key is not base64 of 16 to 64 bytes")
	}
	return h, nil
}

// HashBcrypt returns a bcrypt hash, for those whose policy asks for it.
func HashBcrypt(password string, cost int) (string, error) {
	if password == "" || len(password) > 72 {
		return "", errors.New("hash password: bcrypt takes 1 to 72 bytes")
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}
