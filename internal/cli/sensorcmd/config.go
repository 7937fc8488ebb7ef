package sensorcmd

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/outflow-dev/outflow/internal/alert"
	"github.com/outflow-dev/outflow/internal/yamlconf"
)

// fileConfig is the --config YAML file. Flags add to it (lists) or
// override it (single values).
type fileConfig struct {
	Store   string        `yaml:"store"`
	Site    string        `yaml:"site"`
	Flush   time.Duration `yaml:"flush"`
	Metrics string        `yaml:"metrics"`
	// Pprof also serves /debug/pprof/ on the metrics address.
	Pprof  bool   `yaml:"pprof"`
	Policy string `yaml:"policy"`
	// PolicyFromStore keeps Policy equal to the latest policy saved
	// through the dashboard in the store (--policy-from-store).
	PolicyFromStore bool          `yaml:"policy_from_store"`
	Local           []string      `yaml:"local"`
	FlowListen      []string      `yaml:"flow_listen"`
	Interfaces      []ifaceConfig `yaml:"interfaces"`
	Exporters       []exporterMap `yaml:"exporters"`
	Follow          []string      `yaml:"follow"`
	StateDir        string        `yaml:"state_dir"`
	// MemoryLimit is --memory-limit: a size, auto or off.
	MemoryLimit string `yaml:"memory_limit"`
	// Alerts configures the notifier (internal/alert): deduplication,
	// rate, retries, webhooks, syslog, files.
	Alerts alert.Config `yaml:"alerts"`
}

type ifaceConfig struct {
	Name string `yaml:"name"`
	Site string `yaml:"site"`
	BPF  string `yaml:"bpf"`
}

// exporterMap puts an exporter (and optionally one of its observation
// domains) in a site.
type exporterMap struct {
	Address string  `yaml:"address"`
	Domain  *uint32 `yaml:"domain"`
	Site    string  `yaml:"site"`

	addr netip.Addr
}

func loadConfig(path string) (fileConfig, error) {
	c := fileConfig{Alerts: alert.DefaultConfig()}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := yamlconf.Decode(path, b, &c); err != nil {
		return c, err
	}
	for i := range c.Exporters {
		e := &c.Exporters[i]
		a, err := netip.ParseAddr(e.Address)
		if err != nil {
			return c, fmt.Errorf("%s: exporters[%d]: address %q: %v", path, i, e.Address, err)
		}
		if e.Site == "" {
			return c, fmt.Errorf("%s: exporters[%d]: no site", path, i)
		}
		e.addr = a.Unmap()
	}
	if err := c.Alerts.Validate(); err != nil {
		return c, fmt.Errorf("%s: alerts: %w", path, err)
	}
	for i, f := range c.Interfaces {
		if f.Name == "" {
			return c, fmt.Errorf("%s: interfaces[%d]: no name", path, i)
		}
	}
	return c, nil
}

// exporterSite names the site of an exporter's observation domain: the
// config's entry for that domain, else for the exporter, else the
// sensor's --site, else the exporter's address.
func exporterSite(maps []exporterMap, def string) func(netip.Addr, uint32) string {
	return func(a netip.Addr, domain uint32) string {
		site := ""
		for _, m := range maps {
			if m.addr != a {
				continue
			}
			if m.Domain != nil && *m.Domain == domain {
				return m.Site
			}
			if m.Domain == nil && site == "" {
				site = m.Site
			}
		}
		switch {
		case site != "":
			return site
		case def != "":
			return def
		}
		return a.String()
	}
}
