package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

// TestOneYAMLMessage: one mistake, an unknown key, reads the same in every
// YAML file outflow reads (internal/yamlconf): the file, line and column,
// the key, its section and the keys allowed there.
func TestOneYAMLMessage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cat := write("catalog/entities/acme.yaml", "id: acme\nname: Acme\njurisdiction: US\ncolour: red\n")
	pol := write("policy.yaml", "rules:\n  - action: block\n    entities: acme\ncolour: red\n")
	srv := write("serve.yaml", "listen: 127.0.0.1:0\ncolour: red\n")
	sen := write("sensor.yaml", "store: x.db\ncolour: red\n")
	for _, tc := range []struct {
		name string
		args []string
		file string
		line string
		keys string
	}{
		{"catalog", []string{"catalog", "check", "--catalog-dir", filepath.Join(dir, "catalog")}, cat, "4", "aka, as_of, id, incorporated, jurisdiction, name, note, parents, roles, source, status"},
		{"policy", []string{"resolve", "check", "--policy", pol}, pol, "4", "allow_empty, bypass, defaults, groups, rules"},
		{"serve", []string{"serve", "--config", srv}, srv, "2", "auth, catalog_dirs, listen, policy, secure_cookies, store, tls, trusted_proxies, upload_dir, upload_max"},
		{"sensor", []string{"sensor", "--config", sen}, sen, "2", "alerts, exporters, flow_listen, flush, follow, interfaces, local, memory_limit, metrics, policy, policy_from_store, pprof, site, state_dir, store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := cli.OSEnv()
			env.Stdout, env.Stderr = &out, &errb
			if code := run(context.Background(), env, tc.args); code != cli.ExitFailure {
				t.Fatalf("exit %d, want %d; stderr %q", code, cli.ExitFailure, errb.String())
			}
			want := regexp.QuoteMeta(tc.file+":"+tc.line+":1: unknown key \"colour\" at top level; allowed: "+tc.keys) + "$"
			if !regexp.MustCompile("(?m)" + want).MatchString(errb.String()) {
				t.Errorf("stderr %q\nhas no line matching %s", errb.String(), want)
			}
		})
	}
}
