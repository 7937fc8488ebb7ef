package fleetcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/osquery"
	"github.com/outflow-dev/outflow/internal/report/fleetreport"
)

const watchUsage = `fleet watch [flags] LOG   (an osquery result log: osqueryd --logger_plugin=filesystem, Fleet)
       (--policy FILE | --ban ID... [--deadline RFC3339])

Prints a line each time a device's banned app changes state (due, overdue, removed, traffic
after the deadline) and sends webhook notifications, until interrupted.`

// Watch is `outflow fleet watch`.
func Watch(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "fleet watch", watchUsage)
	var c common
	c.register(fs)
	var (
		asJSON    bool
		fromStart bool
		poll      time.Duration
		interval  time.Duration
	)
	fs.BoolVar(&asJSON, "json", false, "print changes as JSON lines")
	fs.BoolVar(&fromStart, "from-start", false, "read what the log already holds first (default: only what is appended)")
	fs.DurationVar(&poll, "poll", time.Second, "how often to look for new lines")
	fs.DurationVar(&interval, "interval", time.Minute, "how often to re-check verdicts, write the store and notify")
	files, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	c.parsed(fs)
	if len(files) != 1 {
		fs.Usage()
		return cli.ExitFailure
	}
	if poll <= 0 || interval <= 0 {
		return env.Errorf(cli.ExitFailure, "fleet watch: --poll and --interval must be positive")
	}
	chk, code, err := c.setup(env, fleet.Config{})
	if err != nil {
		return env.Errorf(code, "fleet watch: %v", err)
	}
	hook, err := c.notifier()
	if err != nil {
		return env.Errorf(cli.ExitFailure, "fleet watch: %v", err)
	}
	st, err := c.openStore(ctx, env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "fleet watch: %v", err)
	}
	if st != nil {
		defer st.Close()
	}

	w := &watcher{env: env, chk: chk, json: asJSON, last: map[string]string{}}
	visit, _ := chk.Visitor(files[0])
	cfg := osquery.DefaultFollowConfig()
	cfg.Poll, cfg.FromStart = poll, fromStart
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- osquery.Follow(ctx, files[0], cfg, func(it inventory.Item, err error) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if err != nil {
				fmt.Fprintf(env.Stderr, "outflow: fleet watch: %v\n", err)
			}
			return visit(it, err)
		})
	}()
	// The first check comes soon after the start (what --from-start read),
	// the next ones every interval.
	tick := time.NewTimer(min(interval, 2*poll+time.Second))
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				return env.Errorf(cli.ExitInput, "fleet watch: %v", err)
			}
			return cli.ExitOK
		case <-tick.C:
			tick.Reset(interval)
			rep := w.check()
			if st != nil {
				w.mu.Lock()
				b := chk.Batch(rep)
				w.mu.Unlock()
				if err := st.Write(ctx, b); err != nil {
					fmt.Fprintf(env.Stderr, "outflow: fleet watch: store: %v\n", err)
				}
			}
			if hook != nil {
				if n, err := hook.Notify(ctx, rep); err != nil && ctx.Err() == nil {
					fmt.Fprintf(env.Stderr, "outflow: fleet watch: webhook: %d sent, then %v (retried at the next check)\n", n, err)
				}
			}
		}
	}
}

// watcher prints what changed between checks.
type watcher struct {
	mu   sync.Mutex // guards chk against the follower's visits
	env  *cli.Env
	chk  *fleet.Checker
	json bool
	last map[string]string // device|rule|entity|app -> state
}

// change is one line of `fleet watch --json`.
type change struct {
	Time     time.Time `json:"time"`
	Device   string    `json:"device"`
	Owner    string    `json:"owner,omitempty"`
	State    string    `json:"state"` // due, overdue, removed, traffic, compliant
	Previous string    `json:"previous,omitempty"`
	App      fleet.App `json:"app"`
}

func (w *watcher) check() *fleet.Report {
	w.mu.Lock()
	w.chk.SetNow(w.env.Now())
	rep := w.chk.Report()
	w.mu.Unlock()
	for _, d := range rep.Devices {
		for _, a := range d.Apps {
			state := a.Verdict.String()
			switch {
			case a.Traffic != nil:
				state = "traffic"
			case a.Removed != nil:
				state = "removed"
			}
			k := d.Device + "|" + a.Rule + "|" + a.Entity + "|" + a.AppID
			prev := w.last[k]
			if prev == state {
				continue
			}
			w.last[k] = state
			if w.json {
				b, _ := json.Marshal(change{Time: rep.Generated, Device: d.Device, Owner: d.Owner, State: state, Previous: prev, App: a})
				fmt.Fprintf(w.env.Stdout, "%s\n", b)
				continue
			}
			fmt.Fprintf(w.env.Stdout, "%s  %-8s %s  %s\n", rep.Generated.UTC().Format(time.RFC3339), state, d.Device, fleetreport.AppLine(a))
		}
	}
	return rep
}
