// Package reportcmd is `outflow report`: the compliance report, as one
// self-contained HTML file and/or CSV, from the store or from a scan's
// JSON report.
//
// It must never import another subcommand's package.
package reportcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/report/storehtml"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
)

// Command returns `outflow report`.
func Command() cli.Command {
	return cli.Command{Name: "report", Summary: "write the compliance report (HTML for people, CSV for tools) from the store or a scan's JSON", Run: Run}
}

const usage = `report [--store PATH | --from-scan scan.json] (--html FILE | --csv FILE) [flags]

  --since and --until take a date (2026-05-01), a time (RFC 3339) or an age
  (24h, 7d, 4w: that long before --until, or before now).

exit status: 0 written, 1 usage error or failure, 2 unreadable input`

type options struct {
	storePath, fromScan, html, csv, title string
	since, until                          string
	groups, entities, lists, devices      cli.Strings
	catalog                               cli.CatalogFlags
}

// Run is the command.
func Run(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "report", usage)
	var o options
	fs.StringVar(&o.storePath, "store", "", "store file to report on (default: outflow/outflow.db in the user's data directory)")
	fs.StringVar(&o.fromScan, "from-scan", "", "report on a scan's JSON report (outflow scan --json) instead of the store")
	fs.StringVar(&o.html, "html", "", "write the HTML report to this file (- for standard output)")
	fs.StringVar(&o.csv, "csv", "", "write one CSV row per device and entity to this file (- for standard output)")
	fs.StringVar(&o.title, "title", "Data flows to entities of concern", "the report's title")
	fs.StringVar(&o.since, "since", "", "start of the period (default: the start of the data)")
	fs.StringVar(&o.until, "until", "", "end of the period (default: now)")
	fs.Var(&o.groups, "group", "only these device groups (repeatable)")
	fs.Var(&o.entities, "entity", "only these entities, with their subsidiaries (repeatable)")
	fs.Var(&o.lists, "list", "only entities on these lists (repeatable)")
	fs.Var(&o.devices, "device", "only these devices (repeatable)")
	o.catalog.Register(fs)
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return env.Errorf(cli.ExitFailure, "report: unexpected argument %q (inputs are --store or --from-scan)", rest[0])
	}
	if o.html == "" && o.csv == "" {
		fs.Usage()
		return cli.ExitFailure
	}
	if o.html == "-" && o.csv == "-" {
		return env.Errorf(cli.ExitFailure, "report: --html and --csv cannot both go to standard output")
	}
	if o.fromScan != "" && o.storePath != "" {
		return env.Errorf(cli.ExitFailure, "report: --store and --from-scan exclude each other")
	}
	now := env.Now()
	f := store.Filter{Groups: o.groups, Entities: o.entities, Lists: o.lists, Devices: o.devices}
	var err error
	if f.Until, err = parseWhen(o.until, now, now); err != nil {
		return env.Errorf(cli.ExitFailure, "report: --until: %v", err)
	}
	if f.Since, err = parseWhen(o.since, f.Until, now); err != nil {
		return env.Errorf(cli.ExitFailure, "report: --since: %v", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return env.Errorf(cli.ExitFailure, "report: --since must come before --until")
	}

	var r store.Store
	source := ""
	if o.fromScan != "" {
		var cleanup func()
		r, cleanup, code, err = fromScan(ctx, env, &o)
		if err != nil {
			return env.Errorf(code, "report: %v", err)
		}
		defer cleanup()
		source = "scan report " + filepath.Base(o.fromScan)
		if f.Until.IsZero() {
			// a scan's captures may be old: the period ends after them
			if in, err := r.Info(ctx); err == nil && !in.Last.IsZero() {
				f.Until = in.Last.Add(time.Hour)
			}
		}
	} else {
		cfg := store.Config{Path: o.storePath}
		r, err = backend.OpenReadOnly(ctx, cfg, env.Log)
		if err != nil {
			return env.Errorf(cli.ExitInput, "report: %v", err)
		}
		defer r.Close()
		in, err := r.Info(ctx)
		if err != nil {
			return env.Errorf(cli.ExitInput, "report: %v", err)
		}
		source = "store " + in.Path
		// As the dashboard does: a store whose newest data is older than
		// a day (filled from an old capture) is reported up to that data,
		// so that "last day" and "last week" mean something.
		if f.Until.IsZero() && !in.Last.IsZero() && in.Last.Before(now.Add(-24*time.Hour)) {
			f.Until = in.Last.UTC().Truncate(time.Hour).Add(time.Hour)
		}
	}
	if f.Until.IsZero() {
		f.Until = now
	}
	if o.html != "" {
		d, err := storehtml.Collect(ctx, r, f, o.title, source, now)
		if err != nil {
			return env.Errorf(cli.ExitInput, "%v", err)
		}
		if err := writeTo(env, o.html, func(w io.Writer) error { return storehtml.Write(w, d) }); err != nil {
			return env.Errorf(cli.ExitFailure, "report: %v", err)
		}
	}
	if o.csv != "" {
		if err := writeTo(env, o.csv, func(w io.Writer) error { return writeCSV(ctx, w, r, f) }); err != nil {
			return env.Errorf(cli.ExitFailure, "report: %v", err)
		}
	}
	return cli.ExitOK
}

// fromScan loads a scan's JSON report into a temporary store.
func fromScan(ctx context.Context, env *cli.Env, o *options) (store.Store, func(), int, error) {
	b, err := os.ReadFile(o.fromScan)
	if err != nil {
		return nil, nil, cli.ExitInput, err
	}
	var rep scan.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, nil, cli.ExitInput, fmt.Errorf("%s: not a scan report (outflow scan --json): %w", o.fromScan, err)
	}
	ix, err := o.catalog.Open(env)
	if err != nil {
		return nil, nil, cli.ExitFailure, fmt.Errorf("catalog: %w", err)
	}
	dir, err := os.MkdirTemp("", "outflow-report-")
	if err != nil {
		return nil, nil, cli.ExitFailure, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	st, err := backend.Open(ctx, store.Config{Path: filepath.Join(dir, "scan.db"), Synchronous: "normal"}, env.Log)
	if err != nil {
		cleanup()
		return nil, nil, cli.ExitFailure, err
	}
	if err := st.Write(ctx, scanfeed.FromReport(&rep, ix, filepath.Base(o.fromScan))); err != nil {
		st.Close()
		cleanup()
		return nil, nil, cli.ExitInput, fmt.Errorf("%s: %w", o.fromScan, err)
	}
	return st, func() { st.Close(); cleanup() }, cli.ExitOK, nil
}

// writeTo writes to standard output for "-", else to the file at path
// through outfile: a regular file is replaced atomically (a failure keeps
// the old report), a device or fifo is written in place and never
// removed.
func writeTo(env *cli.Env, path string, fn func(io.Writer) error) error {
	if path == "-" {
		w := bufio.NewWriter(env.Stdout)
		if err := fn(w); err != nil {
			return err
		}
		return w.Flush()
	}
	return outfile.Write(path, fn)
}

// parseWhen reads a date, an RFC 3339 time or an age before ref.
func parseWhen(s string, ref, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if ref.IsZero() {
		ref = now
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	n := len(s) - 1
	if n > 0 {
		if v, err := strconv.Atoi(s[:n]); err == nil && v >= 0 {
			unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[n]]
			if unit != 0 {
				return ref.Add(-time.Duration(v) * unit), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02), a time (RFC 3339) or an age (24h, 7d, 4w)", strings.TrimSpace(s))
}
