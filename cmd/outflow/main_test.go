package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/version"
)

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		var out, errb bytes.Buffer
		env := cli.OSEnv()
		env.Stdout, env.Stderr = &out, &errb
		if code := run(context.Background(), env, []string{arg}); code != cli.ExitOK {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errb.String())
		}
		got := strings.TrimSpace(out.String())
		if got != version.Get().String() || !strings.HasPrefix(got, "outflow ") {
			t.Errorf("%s printed %q, want %q", arg, got, version.Get().String())
		}
	}
}
