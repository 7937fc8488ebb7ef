package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// Config is `outflow serve`'s configuration file.
type Config struct {
	// Listen is the address to serve on. Anything but a loopback address
	// requires Auth.Users.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// SecureCookies marks cookies Secure without TLS here, for a TLS proxy
	// in front of the dashboard. With TLS they always are.
	SecureCookies bool         `yaml:"secure_cookies"`
	Auth          auth.Config  `yaml:"auth"`
	Store         store.Config `yaml:"store"`
}

// TLS names the certificate and key files (PEM). Both or neither.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled says whether TLS is configured.
func (t TLS) Enabled() bool { return t.Cert != "" }

// DefaultListen is the loopback address the dashboard serves on unless
// told otherwise.
const DefaultListen = "127.0.0.1:8080"

// DefaultConfig serves on the loopback address without users.
func DefaultConfig() Config {
	return Config{Listen: DefaultListen, Auth: auth.DefaultConfig(), Store: store.DefaultConfig()}
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// LoadConfig reads a configuration file over the defaults. Unknown keys
// are errors naming the line. The file holds password hashes and token
// digests, not secrets, but a file others can write could add a user:
// it is refused when group or others may write it.
func LoadConfig(path string) (Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Config{}, fmt.Errorf("serve config: %w", err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return Config{}, fmt.Errorf("serve config: %s: writable by group or others (mode %o); chmod go-w", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("serve config: %w", err)
	}
	return ParseConfig(path, b)
}

// ParseConfig is LoadConfig of bytes read from name.
func ParseConfig(name string, b []byte) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		msgs := []string{err.Error()}
		if errors.As(err, &te) {
			msgs = te.Errors
		}
		for i, m := range msgs {
			m = strings.TrimPrefix(m, "yaml: ")
			msgs[i] = name + ": " + unknownField.ReplaceAllString(m, `unknown key "$1"`)
		}
		return Config{}, errors.New(strings.Join(msgs, "\n"))
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// ErrNeedUsers is Validate's error for a non-loopback address without
// users.
var ErrNeedUsers = errors.New("serving beyond the loopback address requires users in the configuration file (auth.users; `outflow serve hash-password` makes a password hash)")

// Validate checks the configuration, including the rule that only a
// loopback address may be served without users.
func (c *Config) Validate() error {
	var errs []error
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	} else if !IsLoopback(host) && len(c.Auth.Users) == 0 {
		errs = append(errs, fmt.Errorf("listen %s: %w", c.Listen, ErrNeedUsers))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, errors.New("tls: give both cert and key, or neither"))
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("auth: %w", err))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// IsLoopback says whether a listen host names only this machine: a
// loopback address or "localhost". An empty host (every address) is not.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}
