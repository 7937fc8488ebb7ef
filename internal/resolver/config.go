package resolver

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/outflow-dev/outflow/internal/resolver/cache"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/ratelimit"
	"github.com/outflow-dev/outflow/internal/resolver/upstream"
	"github.com/outflow-dev/outflow/internal/yamlconf"
)

// Config is the resolver's configuration file, one section per component.
type Config struct {
	Listen    Listen           `yaml:"listen"`
	Upstream  upstream.Config  `yaml:"upstream"`
	Cache     cache.Config     `yaml:"cache"`
	RateLimit ratelimit.Config `yaml:"rate_limit"`
	QueryLog  querylog.Config  `yaml:"query_log"`
	Metrics   Metrics          `yaml:"metrics"`
	Policy    string           `yaml:"policy"` // policy file (docs/policy.md)
	Block     []string         `yaml:"block"`  // without a policy file: block these entity, list, country ids or names
	Catalog   Catalog          `yaml:"catalog"`
	Reload    Reload           `yaml:"reload"`
	Answers   Answers          `yaml:"answers"`
	Clients   Clients          `yaml:"clients"`
}

// Listen says where clients are served.
type Listen struct {
	UDP     []string        `yaml:"udp"`
	TCP     []string        `yaml:"tcp"`
	TLS     []TLSListener   `yaml:"tls"`   // DNS over TLS
	HTTPS   []HTTPSListener `yaml:"https"` // DNS over HTTPS
	Workers int             `yaml:"workers"`
	// MaxPending bounds the queries waiting for an upstream at once; past
	// it, new cache misses are answered SERVFAIL at once.
	MaxPending int `yaml:"max_pending"`
	// MaxTCP bounds concurrent TCP and DoT connections.
	MaxTCP int `yaml:"max_tcp"`
	// MaxTCPPerClient bounds those of one client address (IPv6: /64), so
	// that one source cannot take the table; 0: no bound.
	MaxTCPPerClient int `yaml:"max_tcp_per_client"`
	// TCPIdle is how long a TCP or DoT connection may wait for its next
	// query while the table is less than half full; it shortens as the
	// table fills (docs/policy.md, "Running the resolver").
	TCPIdle time.Duration `yaml:"tcp_idle"`
	// Batch reads and answers UDP queries with recvmmsg/sendmmsg.
	Batch bool `yaml:"batch"`
}

// TLSListener is a DNS-over-TLS listener.
type TLSListener struct {
	Addr string `yaml:"addr"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// HTTPSListener is a DNS-over-HTTPS listener (RFC 8484, GET and POST).
// Paths are served with every path below them (/dns-query/corp), so that
// policy groups can tell clients apart by path.
type HTTPSListener struct {
	Addr  string   `yaml:"addr"`
	Cert  string   `yaml:"cert"` // without cert and key: plain HTTP, for a TLS proxy in front
	Key   string   `yaml:"key"`
	Paths []string `yaml:"paths"`
}

// Metrics is the Prometheus listener.
type Metrics struct {
	Listen string `yaml:"listen"` // e.g. 127.0.0.1:9153; "" for none
	Pprof  bool   `yaml:"pprof"`  // also serve /debug/pprof/ there (profiling; keep the listener private)
}

// Catalog says which catalog to load on top of the built-in one.
type Catalog struct {
	Dirs []string `yaml:"dirs"`
}

// Reload watches the policy, its names files and the catalog directories.
type Reload struct {
	Watch time.Duration `yaml:"watch"` // how often files are checked for changes; 0: only on SIGHUP
}

// Answers tunes the answers the resolver makes itself.
type Answers struct {
	BlockTTL time.Duration `yaml:"block_ttl"` // TTL of null and blockpage answers
	// CheckAddresses attributes every A/AAAA address of an answer by the
	// catalog's prefixes (docs/policy.md, "Hosts, carriers and addresses").
	CheckAddresses bool `yaml:"check_addresses"`
}

// DefaultConfig listens on the loopback DNS port and has no upstream.
func DefaultConfig() Config {
	return Config{
		Listen:    Listen{UDP: []string{"127.0.0.1:53"}, TCP: []string{"127.0.0.1:53"}, MaxPending: 1024, MaxTCP: 1024, MaxTCPPerClient: 32, TCPIdle: 10 * time.Second, Batch: true},
		Upstream:  upstream.DefaultConfig(),
		Cache:     cache.DefaultConfig(),
		RateLimit: ratelimit.DefaultConfig(),
		QueryLog:  querylog.DefaultConfig(),
		Reload:    Reload{Watch: 5 * time.Second},
		Answers:   Answers{BlockTTL: 60 * time.Second, CheckAddresses: true},
		Clients:   defaultClients(),
	}
}

// LoadConfig reads a configuration file over the defaults. Unknown keys
// and wrong types are yamlconf.Problems (file:line:column).
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("resolver config: %w", err)
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

// Validate checks what the components' New would refuse later.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Listen.UDP)+len(c.Listen.TCP)+len(c.Listen.TLS)+len(c.Listen.HTTPS) == 0 {
		errs = append(errs, errors.New("listen: no listener"))
	}
	for _, l := range c.Listen.TLS {
		if l.Cert == "" || l.Key == "" {
			errs = append(errs, fmt.Errorf("listen.tls %s: cert and key are required", l.Addr))
		}
	}
	for _, l := range c.Listen.HTTPS {
		if (l.Cert == "") != (l.Key == "") {
			errs = append(errs, fmt.Errorf("listen.https %s: give both cert and key, or neither", l.Addr))
		}
	}
	if len(c.Upstream.Servers) == 0 {
		errs = append(errs, errors.New("upstream: no servers"))
	}
	if c.Policy != "" && len(c.Block) > 0 {
		errs = append(errs, errors.New("give a policy file or block targets, not both"))
	}
	if c.Cache.Size < 0 {
		errs = append(errs, errors.New("cache: size is negative"))
	}
	if err := c.QueryLog.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Listen.MaxPending < 1 || c.Listen.MaxTCP < 1 {
		errs = append(errs, errors.New("listen: max_pending and max_tcp must be positive"))
	}
	if c.Clients.Refresh < 0 {
		errs = append(errs, errors.New("clients: refresh must not be negative"))
	}
	if c.Listen.MaxTCPPerClient < 0 || c.Listen.TCPIdle <= 0 {
		errs = append(errs, errors.New("listen: max_tcp_per_client must not be negative, tcp_idle must be positive"))
	}
	return errors.Join(errs...)
}
