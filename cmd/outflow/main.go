// Command outflow shows what an organisation's devices send to companies
// and states of concern, and stops it. Each subcommand is its own package
// under internal/cli; this file only dispatches.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/cli/auditcmd"
	"github.com/outflow-dev/outflow/internal/cli/catalogcmd"
	"github.com/outflow-dev/outflow/internal/cli/democmd"
	"github.com/outflow-dev/outflow/internal/cli/fleetcmd"
	"github.com/outflow-dev/outflow/internal/cli/helpdoc"
	"github.com/outflow-dev/outflow/internal/cli/reportcmd"
	"github.com/outflow-dev/outflow/internal/cli/resolvecmd"
	"github.com/outflow-dev/outflow/internal/cli/scancmd"
	"github.com/outflow-dev/outflow/internal/cli/sensorcmd"
	"github.com/outflow-dev/outflow/internal/cli/servecmd"
	"github.com/outflow-dev/outflow/internal/cli/storecmd"
	"github.com/outflow-dev/outflow/internal/version"
)

func commands() []cli.Command {
	return []cli.Command{
		catalogcmd.Command(),
		scancmd.Command(),
		democmd.Command(),
		auditcmd.Command(),
		resolvecmd.Command(),
		reportcmd.Command(),
		fleetcmd.Command(),
		servecmd.Command(),
		sensorcmd.Command(),
		storecmd.Command(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cli.OSEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, env *cli.Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: outflow COMMAND [ARGS]    (outflow --version prints the build)\n\ncommands:")
		for _, c := range cmds {
			fmt.Fprintf(env.Stderr, "  %-10s %s\n", c.Name, c.Summary)
		}
		if len(args) == 0 {
			return cli.ExitFailure
		}
		return cli.ExitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Fprintln(env.Stdout, version.Get().String())
		return cli.ExitOK
	}
	for _, c := range cmds {
		if c.Name == args[0] {
			return c.Run(ctx, env, args[1:])
		}
	}
	// Not in the list above: packaging's commands, generated from the
	// others' help (docs/install.md).
	switch args[0] {
	case "completion":
		return helpdoc.CompletionCommand(env, cmds, args[1:])
	case "man":
		return helpdoc.ManCommand(env, cmds, args[1:])
	}
	return env.Errorf(cli.ExitFailure, "unknown command %q (outflow help lists them)", args[0])
}
