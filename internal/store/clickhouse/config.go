package clickhouse

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

// Config is where the store lives and how it writes.
type Config struct {
	Addr     []string // host:port of the native protocol
	Database string
	User     string
	Password string
	// Cluster names a remote_servers definition: local tables on every
	// shard, Distributed tables over them, inserts sharded by device.
	Cluster string
	// DialTimeout bounds connecting; ReadTimeout a query.
	DialTimeout time.Duration
	ReadTimeout time.Duration
	// Retention of detail rows and of rollups (store.Config's).
	Retention       time.Duration
	RollupRetention time.Duration
	// Spool is the directory where batches wait while the server cannot
	// be reached ("": none, and such a write fails); SpoolMax bounds it
	// in bytes (0: no bound).
	Spool    string
	SpoolMax int64
	// Compression of the native protocol's blocks: "lz4" (the default)
	// or "none", which saves the writer its LZ4 but on loopback cost the
	// server more than it saved (docs/benchmarks.md): for a writer whose
	// own CPU is the limit.
	Compression string
	// Inserts is how many inserts of one table's rows a batch makes at
	// once (each of at least partRows rows; 1: one insert a table).
	Inserts int
}

// maxInserts bounds Config.Inserts: the connections left to readers of
// the connection pool's eight.
const maxInserts = 4

// DefaultSpoolMax bounds a spool to 1 GiB.
const DefaultSpoolMax = 1 << 30

// defaultSpool is spool/HOST_PORT_DB beside the default store file:
// the same directory for every process writing to the same store, so
// that a process started after a crash replays what the crashed one
// spooled.
func defaultSpool(c Config) string {
	p, err := store.DefaultPath()
	if err != nil {
		return ""
	}
	name := strings.NewReplacer(":", "_", ",", "+", "/", "_", "[", "", "]", "").Replace(strings.Join(c.Addr, ",")) + "_" + c.Database
	return filepath.Join(filepath.Dir(p), "spool", name)
}

// DefaultConfig is a local server's "outflow" database.
func DefaultConfig() Config {
	return Config{Addr: []string{"127.0.0.1:9000"}, Database: "outflow", User: "default",
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Minute, Compression: "lz4", Inserts: 2}
}

var ident = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`) })

// ParseURL reads clickhouse://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT]/DB[?cluster=NAME&compression=lz4|none&dial_timeout=5s&inserts=2&read_timeout=5m&spool=DIR|off&spool_max=BYTES]
// into a Config, with sc's retention.
func ParseURL(raw string, sc store.Config) (Config, error) {
	c := DefaultConfig()
	c.SpoolMax = DefaultSpoolMax
	c.Retention, c.RollupRetention = sc.Retention, sc.RollupRetention
	u, err := url.Parse(raw)
	if err != nil {
		return c, fmt.Errorf("clickhouse: %s: %w", redact(raw), err)
	}
	if u.Scheme != "clickhouse" {
		return c, fmt.Errorf("clickhouse: %s: scheme %q, want clickhouse://", redact(raw), u.Scheme)
	}
	if u.Host != "" {
		c.Addr = nil
		for _, h := range strings.Split(u.Host, ",") {
			if !strings.Contains(h, ":") {
				h += ":9000"
			}
			c.Addr = append(c.Addr, h)
		}
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		c.Database = db
	}
	if !ident().MatchString(c.Database) {
		return c, fmt.Errorf("clickhouse: %s: database %q: want letters, digits and _", redact(raw), c.Database)
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if _, inURL := u.User.Password(); !inURL {
		c.Password = os.Getenv(PasswordEnv)
	}
	q := u.Query()
	for k, v := range q {
		val := v[len(v)-1]
		switch k {
		case "cluster":
			if !ident().MatchString(val) {
				return c, fmt.Errorf("clickhouse: %s: cluster %q: want letters, digits and _", redact(raw), val)
			}
			c.Cluster = val
		case "dial_timeout", "read_timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("clickhouse: %s: %s: want a positive duration such as 5s", redact(raw), k)
			}
			if k == "dial_timeout" {
				c.DialTimeout = d
			} else {
				c.ReadTimeout = d
			}
		case "spool":
			c.Spool = val
			if val != "off" && !filepath.IsAbs(val) {
				return c, fmt.Errorf("clickhouse: %s: spool: want an absolute directory or off", redact(raw))
			}
		case "compression":
			if val != "lz4" && val != "none" {
				return c, fmt.Errorf("clickhouse: %s: compression %q: want lz4 or none", redact(raw), val)
			}
			c.Compression = val
		case "inserts":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxInserts {
				return c, fmt.Errorf("clickhouse: %s: inserts: want 1 to %d", redact(raw), maxInserts)
			}
			c.Inserts = n
		case "spool_max":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return c, fmt.Errorf("clickhouse: %s: spool_max: want bytes such as 1073741824", redact(raw))
			}
			c.SpoolMax = n
		case "retention", "rollup_retention":
			h, err := strconv.Atoi(strings.TrimSuffix(val, "d"))
			if err != nil || h < 0 || !strings.HasSuffix(val, "d") {
				return c, fmt.Errorf("clickhouse: %s: %s: want days such as 90d", redact(raw), k)
			}
			d := time.Duration(h) * 24 * time.Hour
			if k == "retention" {
				c.Retention = d
			} else {
				c.RollupRetention = d
			}
		default:
			return c, fmt.Errorf("clickhouse: %s: unknown parameter %q (cluster, compression, dial_timeout, inserts, read_timeout, retention, rollup_retention, spool, spool_max)", redact(raw), k)
		}
	}
	switch c.Spool {
	case "":
		c.Spool = defaultSpool(c)
	case "off":
		c.Spool = ""
	}
	return c, nil
}

// PasswordEnv names the environment variable that gives the password
// when the URL has none, so that it stays out of command lines and
// process lists (ps, /proc/PID/cmdline), as CLICKHOUSE_PASSWORD does for
// clickhouse-client.
const PasswordEnv = "OUTFLOW_CLICKHOUSE_PASSWORD"

// SplitPassword returns raw without the password in its user part, and
// that password ("" when it has none or is not a URL).
func SplitPassword(raw string) (stripped, password string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, ""
	}
	p, ok := u.User.Password()
	if !ok {
		return raw, ""
	}
	u.User = url.User(u.User.Username())
	return u.String(), p
}

// String names the store without its password.
func (c Config) String() string {
	s := "clickhouse://" + strings.Join(c.Addr, ",") + "/" + c.Database
	if c.Cluster != "" {
		s += "?cluster=" + c.Cluster
	}
	return s
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	return raw
}
