package web

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/web/auth"
	"github.com/outflow-dev/outflow/internal/yamlconf"
)

// Config is `outflow serve`'s configuration file.
type Config struct {
	// Listen is the address to serve on. Anything but a loopback address
	// requires Auth.Users.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// SecureCookies marks cookies Secure without TLS here, for a TLS proxy
	// in front of the dashboard. With TLS they always are.
	SecureCookies bool `yaml:"secure_cookies"`
	// TrustedProxies are the reverse proxies (addresses or prefixes) whose
	// X-Forwarded-For header names the client. Without them the client is
	// the connection's peer and the header is ignored: anyone can write it.
	TrustedProxies []string     `yaml:"trusted_proxies"`
	Auth           auth.Config  `yaml:"auth"`
	Store          store.Config `yaml:"store"`
	// Policy is the policy file admins edit in the browser (the one the
	// resolvers and sensors read); empty: the policy pages are off.
	Policy string `yaml:"policy"`
	// CatalogDirs are catalog directories on top of the built-in catalog,
	// as the resolver is given them, for checking and previewing the
	// policy.
	CatalogDirs []string `yaml:"catalog_dirs"`
	// UploadDir is where uploaded apps wait for their audit (default the
	// system's temporary directory); UploadMax bounds one (default 512
	// MiB).
	UploadDir string `yaml:"upload_dir"`
	UploadMax int64  `yaml:"upload_max"`
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

// LoadConfig reads a configuration file over the defaults. Unknown keys
// and wrong types are yamlconf.Problems (file:line:column). The file holds password hashes and token
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
	if err := yamlconf.Decode(name, b, &c); err != nil {
		return Config{}, err
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
	} else if !IsLoopback(host) && len(c.Auth.Users) == 0 && !c.Auth.Proxy.Enabled() {
		errs = append(errs, fmt.Errorf("listen %s: %w", c.Listen, ErrNeedUsers))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, errors.New("tls: give both cert and key, or neither"))
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.Auth.Proxy.Enabled() && len(c.TrustedProxies) == 0 {
		errs = append(errs, errors.New("auth.proxy.header needs trusted_proxies: the header is believed only from them"))
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("auth: %w", err))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PlainLogins says whether passwords and session cookies would cross the
// network in clear text: users are configured, the address is not a
// loopback one, and TLS is not. A TLS proxy in front may make that fine;
// the caller warns and lets the operator say so.
func (c *Config) PlainLogins() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	return err == nil && (len(c.Auth.Users) > 0 || c.Auth.Proxy.Enabled()) && !IsLoopback(host) && !c.TLS.Enabled()
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

// parseProxies reads trusted_proxies: addresses or prefixes.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for i, v := range list {
		v = strings.TrimSpace(v)
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d]: %q is neither an address nor a prefix", i, v))
			continue
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, errors.Join(errs...)
}
