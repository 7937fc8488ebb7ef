package servecmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/web"
)

// auditWorker audits an uploaded app by running this binary as
// `outflow audit --store STORE [--policy FILE] [--catalog-dir DIR] FILE`:
// the CLI's path to the store and its limits (archive sizes, ratio,
// depth, time), in a process of its own, so that a hostile file costs
// that process and never the dashboard's memory or its sessions.
func auditWorker(cfg web.Config) func(ctx context.Context, path string) error {
	return func(ctx context.Context, path string) error {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		// a ClickHouse password goes in the worker's environment, not
		// its arguments, which every local user can read (ps)
		st, password := clickhouse.SplitPassword(cfg.Store.Path)
		args := []string{"audit", "--store", st}
		if cfg.Policy != "" {
			args = append(args, "--policy", cfg.Policy)
		}
		for _, d := range cfg.CatalogDirs {
			args = append(args, "--catalog-dir", d)
		}
		args = append(args, path)
		cmd := exec.CommandContext(ctx, exe, args...)
		if password != "" {
			cmd.Env = append(os.Environ(), clickhouse.PasswordEnv+"="+password)
		}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = nil, &errb
		err = cmd.Run()
		var ee *exec.ExitError
		// 3: entities of concern found, which an audit is for.
		if err == nil || errors.As(err, &ee) && ee.ExitCode() == 3 {
			return nil
		}
		msg := strings.TrimSpace(errb.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("outflow audit: %v: %s", err, msg)
	}
}
