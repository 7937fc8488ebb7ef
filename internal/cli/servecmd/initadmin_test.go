package servecmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/web"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

func TestInitAdmin(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "serve.yaml")
	e, _, _ := env("correct horse battery\n")
	if err := initAdmin(e, p, "ana"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new file: %v mode %v", err, st)
	}
	c, err := web.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.Users) != 1 || c.Auth.Users[0].Name != "ana" || c.Auth.Users[0].Role != auth.Admin ||
		auth.VerifyPassword(c.Auth.Users[0].PasswordHash, "correct horse battery") != nil {
		t.Fatalf("users %+v", c.Auth.Users)
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "correct horse") {
		t.Fatal("the password is in the file")
	}
	// Only the first admin.
	e, _, _ = env("another password\n")
	if err := initAdmin(e, p, "bob"); err == nil || !strings.Contains(err.Error(), "already has an admin") {
		t.Fatalf("second admin: %v", err)
	}
	// An existing file with a viewer keeps its comment and its viewer.
	q := filepath.Join(dir, "with-viewer.yaml")
	h := cheap(t)
	os.WriteFile(q, []byte("# the dashboard\nlisten: 127.0.0.1:8081\nauth:\n  users:\n    - {name: vic, password_hash: '"+h+"'}\n  session_idle: 20m\n"), 0o640)
	e, _, _ = env("short\n")
	if err := initAdmin(e, q, "ana"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("short password: %v", err)
	}
	e, _, _ = env("correct horse battery\n")
	if err := initAdmin(e, q, "vic"); err == nil || !strings.Contains(err.Error(), "already has a user vic") {
		t.Fatalf("existing name: %v", err)
	}
	if err := initAdmin(e, q, "ana"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(q)
	if !strings.HasPrefix(string(b), "# the dashboard\n") {
		t.Fatalf("comment lost:\n%s", b)
	}
	if st, _ := os.Stat(q); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %o", st.Mode().Perm())
	}
	c, err = web.LoadConfig(q)
	if err != nil || len(c.Auth.Users) != 2 || c.Auth.Users[0].Role != "" || c.Auth.Users[1].Role != auth.Admin || c.Listen != "127.0.0.1:8081" {
		t.Fatalf("config %+v %v", c, err)
	}
	// Without --config there is nowhere to write.
	e, _, errb := env("correct horse battery\n")
	if code := run(context.Background(), e, []string{"--init-admin", "ana"}); code != cli.ExitFailure || !strings.Contains(errb.String(), "needs --config") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func cheap(t *testing.T) string {
	h, err := auth.HashPassword("viewer password", auth.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
