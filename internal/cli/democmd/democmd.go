// Package democmd is `outflow demo`: it writes the built-in demo capture (a
// small office network, made by internal/demo) and scans it, so that a new
// user sees the whole job with nothing of their own.
//
// It must never import another subcommand's package except scancmd, whose
// scan it runs.
package democmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/cli/scancmd"
	"github.com/outflow-dev/outflow/internal/demo"
	"github.com/outflow-dev/outflow/internal/outfile"
)

// Command returns `outflow demo`.
func Command() cli.Command {
	return cli.Command{Name: "demo", Summary: "write the built-in demo capture of an office network and scan it", Run: run}
}

func run(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "demo", "demo [--capture FILE] [--scale N] [scan flags: --json --csv --all ...]")
	var o scancmd.Options
	o.Catalog.Register(fs)
	capture := fs.String("capture", "", "keep the demo capture in this file (default: a temporary file, removed after)")
	scale := fs.Int("scale", 1, "repeat the scene N times (250 makes about 400 MB)")
	only := fs.Bool("write-only", false, "write the capture and do not scan it")
	fs.BoolVar(&o.JSON, "json", false, "report as JSON")
	fs.BoolVar(&o.CSV, "csv", false, "report as CSV")
	fs.BoolVar(&o.All, "all", false, "also list flows to no entity of concern")
	fs.Var(&o.IPDB, "ip-db", "an ASN or country database for context on addresses (repeatable)")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	path := *capture
	if path == "" {
		dir, err := os.MkdirTemp("", "outflow-demo-")
		if err != nil {
			return env.Errorf(cli.ExitFailure, "demo: %v", err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "office.pcap")
	}
	err := outfile.Write(path, func(w io.Writer) error {
		_, err := demo.Write(w, demo.Options{Seed: 1, Scale: *scale})
		return err
	})
	if err != nil {
		return env.Errorf(cli.ExitFailure, "demo: writing %s: %v", path, err)
	}
	if *capture != "" {
		fmt.Fprintf(env.Stderr, "demo capture written to %s\n", path)
	}
	if *only {
		return cli.ExitOK
	}
	if !o.JSON && !o.CSV {
		fmt.Fprintf(env.Stdout, "Scanning the demo capture: an office where a laptop browses TikTok, a phone uses DJI and WeChat,\na DJI controller and a Hikvision camera phone home, and a desktop shops on Temu.\n\n")
	}
	// The demo is meant to find entities of concern: that is success here,
	// not the "found something" status 3 scripts gate on with `outflow scan`.
	if code := scancmd.Scan(ctx, env, o, []string{path}); code != cli.ExitConcern {
		return code
	}
	return cli.ExitOK
}
