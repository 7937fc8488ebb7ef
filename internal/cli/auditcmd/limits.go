package auditcmd

import (
	"flag"
	"fmt"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/cli"
)

// limitFlags are the configurable bounds on one app.
type limitFlags struct {
	maxEntries   int
	maxEntry     string
	maxTotal     string
	maxRatio     int64
	maxDepth     int
	maxManifest  string
	maxNativeLib string
	maxHosts     int
	workers      int
	jobs         int
	timeout      time.Duration
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	d := audit.DefaultConfig()
	fs.IntVar(&l.maxEntries, "max-entries", d.Extract.Archive.MaxEntries, "most entries one archive may list")
	fs.StringVar(&l.maxEntry, "max-entry-size", cli.FormatSize(d.Extract.Archive.MaxEntrySize), "most bytes read from one entry (KiB, MiB, GiB suffixes)")
	fs.StringVar(&l.maxTotal, "max-total-size", cli.FormatSize(d.Extract.Archive.MaxTotalSize), "most bytes read from one app, nested archives included")
	fs.Int64Var(&l.maxRatio, "max-ratio", d.Extract.Archive.MaxRatio, "compression ratio above which an entry is refused as a zip bomb")
	fs.IntVar(&l.maxDepth, "max-depth", d.Extract.Archive.MaxDepth, "how deep to open archives inside archives (-1: not at all)")
	fs.StringVar(&l.maxManifest, "max-manifest-size", cli.FormatSize(d.Extract.MaxManifest), "most bytes read from AndroidManifest.xml, which the ratio check spares (larger: the app is incomplete)")
	fs.StringVar(&l.maxNativeLib, "max-native-lib", cli.FormatSize(d.Extract.MaxNativeLib), "largest native library read for packer marks")
	fs.IntVar(&l.maxHosts, "max-hosts", d.Extract.MaxHosts, "most distinct hosts kept per app")
	fs.IntVar(&l.workers, "workers", 0, "DEX files parsed in parallel (default: the number of CPUs)")
	fs.IntVar(&l.jobs, "jobs", d.Jobs, "apps audited at once (memory grows with it)")
	fs.DurationVar(&l.timeout, "timeout", d.Timeout, "time limit per app (0: none)")
}

func (l *limitFlags) config() (audit.Config, error) {
	c := audit.DefaultConfig()
	var err error
	a := &c.Extract.Archive
	if l.maxEntries <= 0 {
		return c, fmt.Errorf("--max-entries must be positive")
	}
	a.MaxEntries = l.maxEntries
	if a.MaxEntrySize, err = cli.ParseSize("--max-entry-size", l.maxEntry); err != nil {
		return c, err
	}
	if a.MaxTotalSize, err = cli.ParseSize("--max-total-size", l.maxTotal); err != nil {
		return c, err
	}
	if c.Extract.MaxManifest, err = cli.ParseSize("--max-manifest-size", l.maxManifest); err != nil {
		return c, err
	}
	if c.Extract.MaxNativeLib, err = cli.ParseSize("--max-native-lib", l.maxNativeLib); err != nil {
		return c, err
	}
	if l.maxRatio <= 0 {
		return c, fmt.Errorf("--max-ratio must be positive")
	}
	a.MaxRatio = l.maxRatio
	a.MaxDepth = l.maxDepth
	if l.maxHosts <= 0 {
		return c, fmt.Errorf("--max-hosts must be positive")
	}
	c.Extract.MaxHosts = l.maxHosts
	if l.workers < 0 {
		return c, fmt.Errorf("--workers must not be negative")
	}
	c.Extract.Workers = l.workers
	if l.jobs <= 0 {
		return c, fmt.Errorf("--jobs must be positive")
	}
	c.Jobs = l.jobs
	if l.timeout < 0 {
		return c, fmt.Errorf("--timeout must not be negative")
	}
	c.Timeout = l.timeout
	return c, nil
}
