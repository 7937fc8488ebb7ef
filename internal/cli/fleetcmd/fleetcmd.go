// Package fleetcmd is `outflow fleet`: check device inventories against a
// policy (which devices still carry a banned app, due or overdue), and
// watch an osquery result log as it is written.
//
// It must never import another subcommand's package.
package fleetcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/notify"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// Command returns `outflow fleet`.
func Command() cli.Command {
	return cli.Command{Name: "fleet", Summary: "check device inventories for banned apps: who must remove what by when", Run: run}
}

const usage = `fleet SUBCOMMAND

subcommands:
  check INVENTORY... --policy FILE   report, per device, each banned app: compliant, due or overdue
  check INVENTORY... --ban ID --deadline RFC3339
  watch LOG --policy FILE            follow an osquery result log and report changes as they happen

exit status: 0 all compliant, 3 devices due, overdue or with traffic after a deadline,
1 usage error or failed store/webhook, 2 unreadable input`

func run(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stderr, "usage: outflow "+usage)
		if len(args) == 0 {
			return cli.ExitFailure
		}
		return cli.ExitOK
	}
	switch args[0] {
	case "check":
		return Check(ctx, env, args[1:])
	case "watch":
		return Watch(ctx, env, args[1:])
	}
	return env.Errorf(cli.ExitFailure, "fleet: unknown subcommand %q\nusage: outflow %s", args[0], usage)
}

// common are the flags check and watch share.
type common struct {
	catalog  cli.CatalogFlags
	policy   string
	ban      cli.Strings
	deadline string
	now      string
	storeArg *string
	useStore bool

	webhook      string
	hookFormat   string
	remind       durations
	notifyState  string
	hookTimeout  time.Duration
	notifyBatchN int
}

func (c *common) register(fs *flag.FlagSet) {
	c.catalog.Register(fs)
	fs.StringVar(&c.policy, "policy", "", "policy file (docs/policy.md): groups by device tag, owner or platform, rules with deadlines")
	fs.Var(&c.ban, "ban", "instead of a policy: ban these entity or list ids (or ISO country codes) for every device (repeatable, comma-separated)")
	fs.StringVar(&c.deadline, "deadline", "", "with --ban: the deadline (RFC 3339); devices are due before it, overdue after; default: now")
	fs.StringVar(&c.now, "now", "", "check as of this time (RFC 3339) instead of the clock; for tests and what-ifs")
	c.storeArg = backend.Flag(fs)
	fs.StringVar(&c.webhook, "webhook", "", "POST notifications to this URL: a reminder before each deadline for each device still due, a notice when one becomes overdue")
	fs.StringVar(&c.hookFormat, "webhook-format", notify.FormatJSON, "webhook body: json or slack")
	fs.Var(&c.remind, "remind", "with --webhook: remind this long before a deadline (72h, 7d; repeatable; default 72h)")
	fs.StringVar(&c.notifyState, "notify-state", "", "with --webhook: file remembering what was sent (default: fleet-notified.json next to the store)")
	fs.DurationVar(&c.hookTimeout, "webhook-timeout", 10*time.Second, "with --webhook: timeout of each POST")
	fs.IntVar(&c.notifyBatchN, "webhook-batch", 50, "with --webhook: events per POST")
}

// parsed notes which flags were given.
func (c *common) parsed(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "store" {
			c.useStore = true
		}
	})
}

// setup opens the catalog and the policy and makes a checker; code is the
// exit status when err is not nil.
func (c *common) setup(env *cli.Env, cfg fleet.Config) (*fleet.Checker, int, error) {
	if c.now != "" {
		t, err := time.Parse(time.RFC3339, c.now)
		if err != nil {
			return nil, cli.ExitFailure, fmt.Errorf("--now: %w", err)
		}
		env.Now = func() time.Time { return t }
	}
	if (c.policy == "") == (len(c.ban) == 0) {
		return nil, cli.ExitFailure, errors.New("give either --policy FILE or --ban ID")
	}
	if c.deadline != "" && len(c.ban) == 0 {
		return nil, cli.ExitFailure, errors.New("--deadline goes with --ban (a policy file gives each rule its effective time)")
	}
	ix, err := c.catalog.Open(env)
	if err != nil {
		return nil, cli.ExitFailure, fmt.Errorf("catalog: %w", err)
	}
	var pol *policy.Policy
	if c.policy != "" {
		if pol, err = policy.Load(c.policy); err != nil {
			return nil, cli.ExitFailure, err
		}
	} else {
		if pol, err = banPolicy(ix, c.ban, c.deadline); err != nil {
			return nil, cli.ExitFailure, err
		}
	}
	if err := pol.Check(ix); err != nil {
		return nil, cli.ExitFailure, err
	}
	cfg.Now = env.Now()
	return fleet.New(pol, attribute.New(ix), cfg), cli.ExitOK, nil
}

// banPolicy is policy.Quick with a deadline: one block rule per target,
// for every device, effective at the deadline (now when there is none).
func banPolicy(ix *catalog.Index, targets []string, deadline string) (*policy.Policy, error) {
	var dl time.Time
	if deadline != "" {
		t, err := time.Parse(time.RFC3339, deadline)
		if err != nil {
			return nil, fmt.Errorf("--deadline: %w", err)
		}
		dl = t
	}
	for _, t := range targets {
		if strings.Contains(t, ".") && ix.Entities[t] == nil && ix.Lists[t] == nil {
			return nil, fmt.Errorf("--ban %q: apps are matched to entities, not domain names: give an entity or list id (outflow catalog lookup %s names the entity)", t, t)
		}
	}
	p, err := policy.Quick(ix, targets...)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "--block", "--ban"))
	}
	p.File = "--ban " + strings.Join(targets, ",")
	for i, r := range p.Rules {
		r.ID = "ban-" + targets[i]
		r.Basis = "command line --ban " + targets[i]
		r.Effective = dl
	}
	return p, nil
}

// notifier returns the webhook notifier the flags ask for, or nil.
func (c *common) notifier() (*notify.Notifier, error) {
	if c.webhook == "" {
		return nil, nil
	}
	path := c.notifyState
	if path == "" {
		p := *c.storeArg
		if p == "" {
			var err error
			if p, err = store.DefaultPath(); err != nil {
				return nil, err
			}
		}
		path = filepath.Join(filepath.Dir(p), "fleet-notified.json")
	}
	mem, err := notify.OpenFileMemory(path)
	if err != nil {
		return nil, err
	}
	return notify.New(notify.Config{URL: c.webhook, Format: c.hookFormat, Before: c.remind, Batch: c.notifyBatchN, Timeout: c.hookTimeout}, mem, nil)
}

// openStore opens the store when --store was given.
func (c *common) openStore(ctx context.Context, env *cli.Env) (store.Store, error) {
	if !c.useStore {
		return nil, nil
	}
	cfg := store.DefaultConfig()
	cfg.Path = *c.storeArg
	st, err := backend.Open(ctx, cfg, env.Log)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// durations is a repeatable duration flag that also takes days ("7d").
type durations []time.Duration

func (d *durations) String() string {
	var s []string
	for _, x := range *d {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (d *durations) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		x, err := parseDuration(p)
		if err != nil {
			return err
		}
		*d = append(*d, x)
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || days <= 0 || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("%q: not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	x, err := time.ParseDuration(s)
	if err != nil || x <= 0 {
		return 0, fmt.Errorf("%q: not a positive duration (72h, 7d)", s)
	}
	return x, nil
}
