// Package servecmd is `outflow serve`: the dashboard and JSON API over a
// store, and its helpers `hash-password` (a hash for the configuration
// file) and `new-token` (a read-only API token and its digest).
//
// It must never import another subcommand's package.
package servecmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/safetext"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/web"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// Command returns `outflow serve`.
func Command() cli.Command {
	return cli.Command{Name: "serve", Summary: "web dashboard and JSON API over the store", Run: run}
}

const usage = `serve [--config FILE] [--store PATH] [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--insecure-http]
             [--policy FILE] [--catalog-dir DIR] [--init-admin NAME]
       outflow serve hash-password     (reads the password from the terminal or stdin)
       outflow serve new-token NAME

Serves on 127.0.0.1:8080 unless told otherwise, and then only to
browsers that name it localhost, 127.0.0.1 or [::1]. Any other address
needs users in the configuration file (mode 0600 or 0644; unknown keys are
errors), and should have TLS (--tls-cert/--tls-key or tls:): without it,
serve warns that passwords cross the network in clear text, unless
--insecure-http says a TLS proxy already fronts it. Sessions, CSRF tokens
and the wrong-password limiter are kept in memory, so a restart signs
everyone out.

Users are viewers (read) or admins (also change the policy). The first
admin is made by --init-admin NAME, which reads a password and writes its
hash to --config (created 0600 if missing); there is no default password.
With a policy file (--policy or policy:), admins edit it on /policy: each
change is checked as 'outflow resolve check' does, previewed against the
last week in the store, written atomically and kept in the store's history
with who, when and why; resolvers and sensors reading the same file
reload it within seconds (their file watch). Single sign-on: a reverse
proxy in trusted_proxies names the user in auth.proxy.header.

  listen: 0.0.0.0:8443
  tls: {cert: /etc/outflow/cert.pem, key: /etc/outflow/key.pem}
  auth:
    users:
      - {name: ana, password_hash: '$argon2id$v=19$...', role: admin}
      - {name: ben, password_hash: '$argon2id$v=19$...'}   # a viewer
    tokens:
      - {name: grafana, sha256: 5e88...}
    session_ttl: 12h       # longest login
    session_idle: 1h       # signed out when unused this long
    fail_burst: 5          # wrong passwords for a user from one address lock that
    fail_refill: 1m        # pair (not the user) this long, doubled each further
    fail_max: 1h           # failure up to this
    client_fail_burst: 20  # wrong passwords from one address, any users, lock it
    proxy:                 # single sign-on: the user a trusted proxy names
      header: X-Remote-User
      admins: [ana]        # the others it names are viewers
  secure_cookies: false    # true behind a TLS proxy (with tls: always)
  trusted_proxies: []      # reverse proxies whose X-Forwarded-For names the client
  store: {path: /var/lib/outflow/outflow.db}
  policy: /etc/outflow/policy.yaml
  catalog_dirs: []         # as the resolver's, to check the policy against

API: GET /api/overview, /api/devices[/ID], /api/flows, /api/names,
/api/queries, /api/blocked, /api/overdue, /api/due, /api/audits[/ID],
/api/inventory, /api/entities, /api/search?q=, /api/info,
/api/policy/changes[/ID]; filters period=
(day|week|month|quarter|all) or since=/until=, device=, group=, entity=,
list=, name=, rule=, verdict=, concern=1, limit=, offset=. A token reads
the API only: 'Authorization: Bearer TOKEN'. Changes (an admin's session
and its CSRF token, field csrf or header X-CSRF-Token): POST
/policy/preview, /policy/save, /policy/history/ID/revert, /apps/upload
(multipart, field apk; audited by 'outflow audit --store' in a process of
its own; upload_dir:, upload_max: bound it). docs/dashboard.md
has the rest.`

func run(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "hash-password":
			return hashPassword(env, args[1:])
		case "new-token":
			return newToken(env, args[1:])
		}
	}
	return serve(ctx, env, args)
}

func serve(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "serve", usage)
	config := fs.String("config", "", "configuration file (YAML: listen, tls, auth, store)")
	storePath := backend.Flag(fs)
	listen := fs.String("listen", "", "address to serve on (default 127.0.0.1:8080 or the file's)")
	cert := fs.String("tls-cert", "", "TLS certificate file (PEM)")
	key := fs.String("tls-key", "", "TLS key file (PEM)")
	insecure := fs.Bool("insecure-http", false, "no warning for logins over plain HTTP beyond loopback (a TLS proxy fronts the dashboard)")
	initName := fs.String("init-admin", "", "add the first admin NAME to --config (password read from the terminal or stdin), then serve")
	policyPath := fs.String("policy", "", "policy file admins may edit here (the one the resolvers and sensors read)")
	var catDirs cli.Strings
	fs.Var(&catDirs, "catalog-dir", "catalog directory on top of the built-in catalog, to check policies against (repeatable)")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	if *initName != "" {
		if err := initAdmin(env, *config, *initName); err != nil {
			return env.Errorf(cli.ExitFailure, "serve --init-admin: %v", err)
		}
		fmt.Fprintf(env.Stderr, "outflow: admin %s added to %s\n", safetext.Terminal(*initName), safetext.Terminal(*config))
	}
	cfg := web.DefaultConfig()
	if *config != "" {
		var err error
		if cfg, err = web.LoadConfig(*config); err != nil {
			return env.Errorf(cli.ExitFailure, "%v", err)
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *cert != "" || *key != "" {
		cfg.TLS = web.TLS{Cert: *cert, Key: *key}
	}
	if *storePath != "" {
		cfg.Store.Path = *storePath
	}
	if *policyPath != "" {
		cfg.Policy = *policyPath
	}
	cfg.CatalogDirs = append(cfg.CatalogDirs, catDirs...)
	if err := cfg.Validate(); err != nil {
		return env.Errorf(cli.ExitFailure, "%v", err)
	}
	if cfg.PlainLogins() && !*insecure {
		warnPlain(env, cfg.Listen)
	}
	if cfg.Store.Path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return env.Errorf(cli.ExitFailure, "%v", err)
		}
		cfg.Store.Path = p
	}
	st, err := backend.OpenReadOnly(ctx, cfg.Store, env.Log)
	if errors.Is(err, os.ErrNotExist) {
		return env.Errorf(cli.ExitInput, "no store at %s: fill one with `outflow scan --store %s CAPTURE` or give --store", cfg.Store.Path, cfg.Store.Path)
	}
	if err != nil {
		return env.Errorf(cli.ExitInput, "%v", err)
	}
	defer st.Close()
	srv, err := web.New(cfg, web.Deps{Reader: st, Log: env.Log, Now: env.Now, Audit: auditWorker(cfg)})
	if err != nil {
		return env.Errorf(cli.ExitFailure, "%v", err)
	}
	if err := srv.Start(ctx); err != nil {
		return env.Errorf(cli.ExitFailure, "%v", err)
	}
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	fmt.Fprintf(env.Stderr, "outflow: dashboard on %s://%s/ (store %s); Ctrl-C stops\n", scheme, srv.Addr(), cfg.Store.Path)
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return env.Errorf(cli.ExitFailure, "stop: %v", err)
	}
	return cli.ExitOK
}

// warnPlain says, in the log and on standard error (the log may go
// elsewhere), that logins would be readable on the network.
func warnPlain(env *cli.Env, listen string) {
	if env.Log != nil {
		env.Log.Warn("serve: logins over plain HTTP beyond loopback: passwords and session cookies cross the network in clear text",
			"listen", listen, "fix", "--tls-cert and --tls-key, or --insecure-http behind a TLS proxy")
	}
	fmt.Fprintf(env.Stderr, "outflow: warning: serving logins on %s over plain HTTP: passwords and session cookies cross the network in clear text.\n"+
		"  Give --tls-cert FILE --tls-key FILE (or tls: in the configuration), or listen on 127.0.0.1 behind a TLS proxy;\n"+
		"  --insecure-http silences this when a TLS proxy already fronts the dashboard.\n", safetext.Terminal(listen))
}

// readPassword reads a password: from the terminal without echo (twice,
// to catch a typo), else the first line of stdin.
func readPassword(env *cli.Env) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(env.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func hashPassword(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "serve hash-password", "serve hash-password [--bcrypt]\n\nReads a password and prints its argon2id hash for auth.users[].password_hash.")
	bc := fs.Bool("bcrypt", false, "print a bcrypt hash (cost 12) instead of argon2id")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return env.Errorf(cli.ExitFailure, "serve hash-password takes no argument: the password is read from the terminal or stdin, never the command line")
	}
	pw, err := readPassword(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "hash-password: %v", err)
	}
	if len(pw) < 8 {
		return env.Errorf(cli.ExitFailure, "hash-password: use at least 8 characters")
	}
	var h string
	if *bc {
		h, err = auth.HashBcrypt(pw, 12)
	} else {
		h, err = auth.HashPassword(pw, auth.DefaultArgon2)
	}
	if err != nil {
		return env.Errorf(cli.ExitFailure, "%v", err)
	}
	fmt.Fprintln(env.Stdout, h)
	return cli.ExitOK
}

func newToken(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "serve new-token", "serve new-token NAME\n\nPrints a new read-only API token, and the line for auth.tokens that holds only its SHA-256.")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 || strings.ContainsAny(rest[0], " \t\r\n:{}'\"") {
		fs.Usage()
		return cli.ExitFailure
	}
	tok, sum := auth.NewToken()
	fmt.Fprintf(env.Stdout, "token: %s\n", tok)
	fmt.Fprintf(env.Stdout, "config: - {name: %s, sha256: %s}\n", rest[0], sum)
	fmt.Fprintln(env.Stderr, "outflow: the token is shown once; the configuration keeps only its SHA-256. Send it as 'Authorization: Bearer TOKEN'.")
	return cli.ExitOK
}
