package storecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	code := Command().Run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestMigrate(t *testing.T) {
	srv := chtest.Start(t)
	for _, p := range []string{filepath.Join(t.TempDir(), "outflow.db"), srv.URL("outflow_cmd")} {
		code, out, errs := runCmd(t, "migrate", "--store", p)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, errs)
		}
		var in store.Info
		if err := json.Unmarshal([]byte(out), &in); err != nil || in.Schema < 1 {
			t.Fatalf("%s: info %q: %v", p, out, err)
		}
		if code, _, errs := runCmd(t, "info", "--store", p); code != 0 {
			t.Fatalf("%s: info after migrate: exit %d: %s", p, code, errs)
		}
	}
	if code, _, errs := runCmd(t, "info", "--store", filepath.Join(t.TempDir(), "none.db")); code == 0 || !strings.Contains(errs, "none.db") {
		t.Errorf("info of a missing file: exit %d: %s", code, errs)
	}
	if code, _, _ := runCmd(t, "drop"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}
