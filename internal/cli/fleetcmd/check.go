package fleetcmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/load"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/report/fleetreport"
)

const checkUsage = `fleet check [flags] INVENTORY...   (- for standard input; gzip is read too)
       (--policy FILE | --ban ID... [--deadline RFC3339])

Formats are detected from content: osquery JSON / result logs, adb pm list / dumpsys package,
iOS MDM CSV/JSON, Intune discovered apps CSV, Jamf Pro CSV, outflow's plain CSV (docs/inventory.md).

exit status: 0 all compliant, 3 devices due, overdue or with traffic after a deadline,
1 usage error or failed store/webhook, 2 unreadable input`

// Check is `outflow fleet check`.
func Check(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "fleet check", checkUsage)
	var c common
	c.register(fs)
	var (
		asJSON, asCSV, all bool
		output, format     string
		workers            int
	)
	fs.BoolVar(&asJSON, "json", false, "write the report as JSON (docs/inventory.md, \"Checking a fleet\")")
	fs.BoolVar(&asCSV, "csv", false, "write one CSV row per device and app to remove (for IT ticketing)")
	fs.BoolVar(&all, "all", false, "list every device, compliant ones too")
	fs.StringVar(&output, "o", "", "write the report to this file")
	fs.StringVar(&format, "format", "", "inventory format of every input (osquery, android, ios, intune, jamf, csv); default: detected")
	fs.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "inventories parsed at once")
	files, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	c.parsed(fs)
	if len(files) == 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	if asJSON && asCSV {
		return env.Errorf(cli.ExitFailure, "fleet check: --json and --csv exclude each other")
	}
	if format != "" {
		if _, err := load.Lookup(inventory.Format(format)); err != nil {
			return env.Errorf(cli.ExitFailure, "fleet check: --format: %v", err)
		}
	}
	chk, code, err := c.setup(env, fleet.Config{All: all})
	if err != nil {
		return env.Errorf(code, "fleet check: %v", err)
	}
	hook, err := c.notifier()
	if err != nil {
		return env.Errorf(cli.ExitFailure, "fleet check: %v", err)
	}
	st, err := c.openStore(ctx, env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "fleet check: %v", err)
	}
	if st != nil {
		defer st.Close()
	}

	srcs := make([]fleet.Source, len(files))
	for i, f := range files {
		srcs[i] = source(env, f, inventory.Format(format))
	}
	inputFailed := false
	for _, err := range chk.ReadAll(ctx, srcs, workers) {
		inputFailed = true
		fmt.Fprintf(env.Stderr, "outflow: fleet check: %v\n", err)
	}
	if ctx.Err() != nil {
		return env.Errorf(cli.ExitFailure, "fleet check: %v", ctx.Err())
	}
	opFailed := false
	if st != nil {
		if err := chk.LoadTraffic(ctx, fleet.StoreTraffic{R: st}); err != nil {
			opFailed = true
			fmt.Fprintf(env.Stderr, "outflow: fleet check: traffic after the deadline not checked: %v\n", err)
		}
	}
	rep := chk.Report()
	if st != nil {
		if err := st.Write(ctx, chk.Batch(rep)); err != nil {
			opFailed = true
			fmt.Fprintf(env.Stderr, "outflow: fleet check: store: %v\n", err)
		}
	}
	if err := write(env, output, func(w io.Writer) error {
		switch {
		case asJSON:
			return fleetreport.JSON(w, rep)
		case asCSV:
			return fleetreport.CSV(w, rep)
		}
		return fleetreport.Text(w, rep)
	}); err != nil {
		return env.Errorf(cli.ExitFailure, "fleet check: writing the report: %v", err)
	}
	if rep.Summary.Malformed > 0 && (asJSON || asCSV || output != "") {
		// The text report lists them; other outputs only count them.
		fmt.Fprintf(env.Stderr, "outflow: fleet check: %d malformed record(s) skipped, first: %s\n", rep.Summary.Malformed, first(rep.Problems))
	}
	if hook != nil {
		n, err := hook.Notify(ctx, rep)
		if err != nil {
			opFailed = true
			fmt.Fprintf(env.Stderr, "outflow: fleet check: webhook: %d sent, then %v (the rest is sent on the next run)\n", n, err)
		}
	}
	switch {
	case inputFailed:
		return cli.ExitInput
	case opFailed:
		return cli.ExitFailure
	case rep.Summary.Concern():
		return cli.ExitConcern
	}
	return cli.ExitOK
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// source reads one inventory argument: a file, or standard input for "-".
func source(env *cli.Env, name string, format inventory.Format) fleet.Source {
	return fleet.Source{Name: name, Read: func(ctx context.Context, visit inventory.Visit) (string, error) {
		var f inventory.Format
		var err error
		if name == "-" {
			f, err = load.Reader(ctx, env.Stdin, "-", format, visit)
		} else {
			f, err = load.File(ctx, name, format, visit)
		}
		return string(f), err
	}}
}

// write renders to the output file (through outfile: replaced
// atomically, never removed on failure) or standard output.
func write(env *cli.Env, output string, render func(io.Writer) error) error {
	if output != "" {
		return outfile.Write(output, render)
	}
	bw := bufio.NewWriterSize(env.Stdout, 64<<10)
	if err := render(bw); err != nil {
		return err
	}
	return bw.Flush()
}
