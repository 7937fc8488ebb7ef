// Package storecmd is `outflow store`: migrate a store's schema to this
// build's (`outflow store migrate --store clickhouse://HOST:PORT/DB`) and
// say what it holds (`outflow store info`). Opening a store for writing
// migrates it too; this command does it ahead of the writers, for an
// operator who wants the schema change on its own.
//
// It must never import a backend directly: stores are opened through
// internal/store/backend.
package storecmd

import (
	"context"
	"encoding/json"
	"flag"
	"io"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// Command is `outflow store`.
func Command() cli.Command {
	return cli.Command{Name: "store", Summary: "migrate a store's schema (store migrate) or show what it holds (store info)", Run: run}
}

func run(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) == 0 || (args[0] != "migrate" && args[0] != "info") {
		return env.Errorf(2, "store: usage: outflow store migrate|info --store PATH|clickhouse://HOST:PORT/DB")
	}
	sub := args[0]
	fs := flag.NewFlagSet("store "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := backend.Flag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return env.Errorf(2, "store %s: %v", sub, err)
	}
	if fs.NArg() > 0 {
		return env.Errorf(2, "store %s: unexpected argument %q", sub, fs.Arg(0))
	}
	cfg := store.DefaultConfig()
	cfg.Path = *path
	open := backend.OpenReadOnly
	if sub == "migrate" {
		open = backend.Open // opening to write applies the migrations
	}
	st, err := open(ctx, cfg, env.Log)
	if err != nil {
		return env.Errorf(1, "store %s: %v", sub, err)
	}
	defer st.Close()
	in, err := st.Info(ctx)
	if err != nil {
		return env.Errorf(1, "store %s: %v", sub, err)
	}
	e := json.NewEncoder(env.Stdout)
	e.SetIndent("", "  ")
	if err := e.Encode(in); err != nil {
		return env.Errorf(1, "store %s: %v", sub, err)
	}
	return 0
}
