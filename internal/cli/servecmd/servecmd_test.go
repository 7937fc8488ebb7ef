package servecmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func env(stdin string) (*cli.Env, *lockedBuf, *lockedBuf) {
	out, errb := &lockedBuf{}, &lockedBuf{}
	e := cli.OSEnv()
	e.Stdin, e.Stdout, e.Stderr = strings.NewReader(stdin), out, errb
	return e, out, errb
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, in string
		args     []string
		code     int
		prefix   string
	}{
		{"argon2id", "correct horse battery\n", nil, cli.ExitOK, "$argon2id$v=19$m=47104,t=1,p=1$"},
		{"bcrypt", "correct horse battery\n", []string{"--bcrypt"}, cli.ExitOK, "$2a$12$"},
		{"too short", "short\n", nil, cli.ExitFailure, ""},
		{"password as argument", "", []string{"hunter2hunter2"}, cli.ExitFailure, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := env(tc.in)
			code := run(context.Background(), e, append([]string{"hash-password"}, tc.args...))
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errb.String())
			}
			if tc.code != cli.ExitOK {
				return
			}
			h := strings.TrimSpace(out.String())
			if !strings.HasPrefix(h, tc.prefix) {
				t.Fatalf("hash %q, want prefix %q", h, tc.prefix)
			}
			if err := auth.VerifyPassword(h, "correct horse battery"); err != nil {
				t.Fatalf("the hash does not verify its password: %v", err)
			}
			if auth.VerifyPassword(h, "correct horse") == nil {
				t.Fatal("the hash verifies another password")
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	e, out, _ := env("")
	if code := run(context.Background(), e, []string{"new-token", "grafana"}); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	m := regexp.MustCompile(`(?m)^token: (oft_\S+)\nconfig: - \{name: grafana, sha256: ([0-9a-f]{64})\}$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output %q", out.String())
	}
	sum := sha256.Sum256([]byte(m[1]))
	if hex.EncodeToString(sum[:]) != m[2] {
		t.Fatal("the digest is not the token's SHA-256")
	}
	if code := run(context.Background(), e, []string{"new-token"}); code != cli.ExitFailure {
		t.Fatalf("no name: exit %d", code)
	}
}

func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"open address without users", []string{"--listen", "0.0.0.0:0", "--store", filepath.Join(dir, "x.db")}, cli.ExitFailure, "requires users"},
		{"no store", []string{"--listen", "127.0.0.1:0", "--store", filepath.Join(dir, "none.db")}, cli.ExitInput, "no store at"},
		{"half tls", []string{"--tls-cert", "c.pem", "--store", filepath.Join(dir, "x.db")}, cli.ExitFailure, "both cert and key"},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml")}, cli.ExitFailure, "no such file"},
		{"stray argument", []string{"extra"}, cli.ExitFailure, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := env("")
			if code := run(context.Background(), e, tc.args); code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.want)
			}
		})
	}
}

func TestServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outflow.db")
	cfg := store.DefaultConfig()
	cfg.Path = path
	st, err := backend.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = st.Write(context.Background(), &store.Batch{
		Devices: []store.Device{{ID: "192.168.50.10", Name: "ana-laptop"}},
		Flows: []store.Flow{{First: now, Last: now, Device: "192.168.50.10", Peer: "23.50.60.70", Name: "www.tiktok.com",
			Entity: "tiktok", Traffic: store.Traffic{BytesOut: 1, Flows: 1}}},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, _, errb := env("")
	done := make(chan int)
	go func() { done <- run(ctx, e, []string{"--store", path, "--listen", "127.0.0.1:0"}) }()
	var url string
	re := regexp.MustCompile(`dashboard on (http://127\.0\.0\.1:\d+/)`)
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no address announced: %s", errb.String())
	}
	resp, err := http.Get(url + "api/devices")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "ana-laptop") {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestPlainHTTPWarning is the regression test of issue 10 (11): users on
// an address beyond loopback without TLS get a warning, in the log and on
// standard error, unless --insecure-http. The store is missing, so serve
// stops after the warning without listening anywhere.
func TestPlainHTTPWarning(t *testing.T) {
	dir := t.TempDir()
	hash, err := auth.HashPassword("correct horse battery", auth.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	withUsers := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(withUsers, []byte("auth:\n  users:\n    - {name: ana, password_hash: '"+hash+"'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noUsers := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(noUsers, []byte("listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tls := []string{"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem")}
	tests := []struct {
		name string
		args []string
		warn bool
	}{
		{"all addresses, plain HTTP", []string{"--config", withUsers, "--listen", "0.0.0.0:8443"}, true},
		{"every address (empty host)", []string{"--config", withUsers, "--listen", ":8443"}, true},
		{"LAN address", []string{"--config", withUsers, "--listen", "192.168.50.2:8443"}, true},
		{"IPv6 any", []string{"--config", withUsers, "--listen", "[::]:8443"}, true},
		{"loopback", []string{"--config", withUsers, "--listen", "127.0.0.1:8443"}, false},
		{"IPv6 loopback", []string{"--config", withUsers, "--listen", "[::1]:8443"}, false},
		{"localhost", []string{"--config", withUsers, "--listen", "localhost:8443"}, false},
		{"loopback without users", []string{"--config", noUsers}, false},
		{"--insecure-http", []string{"--config", withUsers, "--listen", "0.0.0.0:8443", "--insecure-http"}, false},
		{"TLS", append([]string{"--config", withUsers, "--listen", "0.0.0.0:8443"}, tls...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := env("")
			logs := &lockedBuf{}
			e.Log = slog.New(slog.NewTextHandler(logs, nil))
			args := append(append([]string{}, tc.args...), "--store", filepath.Join(dir, "none.db"))
			if code := run(context.Background(), e, args); code != cli.ExitInput || !strings.Contains(errb.String(), "no store at") {
				t.Fatalf("exit %d, stderr %q; want %d and the missing store", code, errb.String(), cli.ExitInput)
			}
			gotErr := strings.Contains(errb.String(), "warning: serving logins on") && strings.Contains(errb.String(), "--tls-cert")
			gotLog := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "plain HTTP")
			if gotErr != tc.warn || gotLog != tc.warn {
				t.Fatalf("warning on stderr %v, in the log %v; want %v\nstderr: %s\nlog: %s", gotErr, gotLog, tc.warn, errb.String(), logs.String())
			}
		})
	}
}
