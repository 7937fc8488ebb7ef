package helpdoc

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/version"
)

// CompletionCommand is `outflow completion bash|zsh|fish`: the script on
// standard output.
func CompletionCommand(env *cli.Env, cmds []cli.Command, args []string) int {
	if len(args) != 1 {
		return env.Errorf(cli.ExitFailure, "usage: outflow completion bash|zsh|fish")
	}
	s, err := Completion(Walk(cmds), args[0])
	if err != nil {
		return env.Errorf(cli.ExitFailure, "%v", err)
	}
	fmt.Fprint(env.Stdout, s)
	return cli.ExitOK
}

// ManCommand is `outflow man DIR`: outflow.1 and outflow-COMMAND.1 into
// DIR. The pages' date is SOURCE_DATE_EPOCH's when set (reproducible
// packages), else the build's commit time, else today.
func ManCommand(env *cli.Env, cmds []cli.Command, args []string) int {
	if len(args) != 1 {
		return env.Errorf(cli.ExitFailure, "usage: outflow man DIR")
	}
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return env.Errorf(cli.ExitFailure, "man: %v", err)
	}
	v := version.Get()
	for _, p := range ManPages(Walk(cmds), pageDate(env, v), v.Version) {
		if err := os.WriteFile(filepath.Join(dir, p.File), []byte(p.Text), 0o644); err != nil {
			return env.Errorf(cli.ExitFailure, "man: %v", err)
		}
	}
	return cli.ExitOK
}

func pageDate(env *cli.Env, v version.Info) string {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			return time.Unix(sec, 0).UTC().Format(time.DateOnly)
		}
	}
	if t, err := time.Parse(time.RFC3339, v.Time); err == nil {
		return t.UTC().Format(time.DateOnly)
	}
	return env.Now().UTC().Format(time.DateOnly)
}
