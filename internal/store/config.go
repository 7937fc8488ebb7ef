package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// ErrNotFound is returned by Reader methods that name one thing which the
// store does not hold.
var ErrNotFound = errors.New("store: not found")

// Config is the store section of the configuration file.
type Config struct {
	// Path of the database ("" uses DefaultPath).
	Path string `yaml:"path"`
	// Retention of the detail rows (flows, queries); older rows are
	// pruned. 0 keeps them until MaxSize forces pruning.
	Retention time.Duration `yaml:"retention"`
	// RollupRetention of the hourly and daily rollups, audits and
	// inventories; 0 keeps them.
	RollupRetention time.Duration `yaml:"rollup_retention"`
	// MaxSize in bytes: past it, the oldest days of detail rows are
	// pruned until the store is under 90 % of it. 0: no bound.
	MaxSize int64 `yaml:"max_size"`
	// Synchronous is "full" (a commit survives power loss) or "normal"
	// (a commit survives a process crash; the last commits may be lost
	// on power loss, never the database).
	Synchronous string `yaml:"synchronous"`
	// CacheMB is SQLite's page cache per connection in MiB (0: 64). A
	// process that mostly writes (the sensor) needs far less: the cache
	// of each of its connections fills to this size and stays resident.
	CacheMB int `yaml:"cache_mb"`
}

// DefaultConfig keeps detail rows 90 days, rollups 2 years, at most 20 GB,
// and commits with synchronous=full.
func DefaultConfig() Config {
	return Config{Retention: 90 * 24 * time.Hour, RollupRetention: 2 * 365 * 24 * time.Hour,
		MaxSize: 20 << 30, Synchronous: "full"}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Retention < 0 || c.RollupRetention < 0 || c.MaxSize < 0 || c.CacheMB < 0 {
		return errors.New("store: retention, rollup_retention, max_size and cache_mb must not be negative")
	}
	if c.Retention > 0 && c.RollupRetention > 0 && c.RollupRetention < c.Retention {
		return fmt.Errorf("store: rollup_retention (%v) is shorter than retention (%v)", c.RollupRetention, c.Retention)
	}
	switch c.Synchronous {
	case "", "full", "normal":
	default:
		return fmt.Errorf("store: synchronous must be full or normal, not %q", c.Synchronous)
	}
	return nil
}

// DefaultPath is outflow/outflow.db in the user's data directory:
// $XDG_DATA_HOME, else ~/.local/share on Unix, the platform's
// configuration directory elsewhere (os.UserConfigDir).
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "outflow", "outflow.db"), nil
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" && runtime.GOOS != "ios" && runtime.GOOS != "plan9" {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "share", "outflow", "outflow.db"), nil
		}
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("store: no data directory for the default path (give --store): %w", err)
	}
	return filepath.Join(d, "outflow", "outflow.db"), nil
}
