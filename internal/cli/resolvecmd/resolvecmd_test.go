package resolvecmd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/resolver"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/resolvertest"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(out, errw io.Writer) *cli.Env {
	return &cli.Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: errw, Log: slog.New(slog.DiscardHandler), Now: time.Now}
}

func TestQuickStart(t *testing.T) {
	auth := resolvertest.NewAuth(t, "ok.example. 60 IN A 192.0.2.1", "www.evil.example. 60 IN A 192.0.2.2", "worse.example. 60 IN A 192.0.2.3")
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, env(&stdout, &stderr), []string{"--listen", "127.0.0.1:0", "--upstream", auth.Addr, "--block", "evil.example", "worse.example"})
	}()
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		for _, l := range strings.Split(stderr.String(), "\n") {
			if a, ok := strings.CutPrefix(l, "outflow resolve: udp on "); ok {
				addr = a
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("resolver did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]int{"ok.example.": dns.RcodeSuccess, "www.evil.example.": dns.RcodeNameError, "worse.example.": dns.RcodeNameError} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, err := dns.Exchange(m, addr)
		if err != nil || r.Rcode != want {
			t.Errorf("%s: %v %v", name, r, err)
		}
	}
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("rules:\n  - action: block\n    names: [evil.example]\n    jurisdictions: [KP]\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - action: block\n    nmes: [evil.example]\n"), 0o644)
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	ruleless := filepath.Join(dir, "ruleless.yaml")
	os.WriteFile(ruleless, []byte("groups:\n  - {name: g, addresses: [10.0.0.0/8]}\n"), 0o644)
	meant := filepath.Join(dir, "meant.yaml")
	os.WriteFile(meant, []byte("allow_empty: true\n"), 0o644)
	devices := filepath.Join(dir, "devices.yaml")
	os.WriteFile(devices, []byte("groups:\n  - name: cams\n    macs: [a4:c1:38]\n    hostnames: [\"cam-*\"]\nrules:\n  - {action: block, names: [x.example], groups: [cams]}\n"), 0o644)
	badMAC := filepath.Join(dir, "badmac.yaml")
	os.WriteFile(badMAC, []byte("groups:\n  - name: cams\n    macs:\n      - a4:c1:38\n      - a4:c1:3z\nrules:\n  - {action: block, names: [x.example], groups: [cams]}\n"), 0o644)
	leases := filepath.Join(dir, "dhcp.leases")
	os.WriteFile(leases, []byte("0 a4:c1:38:00:00:01 192.0.2.1 cam-1 *\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"good policy", []string{"check", "--policy", good}, cli.ExitOK, "policy ok: 0 groups, 1 rules, 1 names"},
		{"broken policy names the line", []string{"check", "--policy", bad}, cli.ExitFailure, `bad.yaml:3:5: unknown key "nmes" in rules[0]; allowed: action,`},
		{"nothing to check", []string{"check"}, cli.ExitFailure, "nothing to enforce"},
		{"empty policy fails", []string{"check", "--policy", empty}, cli.ExitFailure, "empty.yaml: policy has no rules"},
		{"rule-less policy fails", []string{"check", "--policy", ruleless}, cli.ExitFailure, "ruleless.yaml:1: policy has no rules"},
		{"allow_empty passes", []string{"check", "--policy", meant}, cli.ExitOK, "this policy blocks nothing"},
		{"bad MAC names its line", []string{"check", "--policy", badMAC}, cli.ExitFailure, `badmac.yaml:5: group cams: "a4:c1:3z" is not a MAC address`},
		{"device groups read the leases", []string{"check", "--policy", devices, "--dhcp-leases", leases}, cli.ExitOK, "clients: "},
		{"an unreadable lease file is a note", []string{"check", "--policy", devices, "--dhcp-leases", filepath.Join(dir, "nope.leases")}, cli.ExitOK, "note: lease file: stat "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code := run(context.Background(), env(&out, &errw), tc.args)
			if code != tc.code || !strings.Contains(out.String()+errw.String(), tc.out) {
				t.Errorf("exit %d, output %q %q; want %d and %q", code, out.String(), errw.String(), tc.code, tc.out)
			}
		})
	}
}

// startServe runs `outflow resolve args...` until the test ends and
// returns its UDP address and stderr.
func startServe(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	return startServeLog(t, false, args...)
}

// startServeLog is startServe, with the command's log in stderr too when
// logged.
func startServeLog(t *testing.T, logged bool, args ...string) (string, *syncBuffer) {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := env(&stdout, &stderr)
	if logged {
		e.Log = slog.New(slog.NewTextHandler(&stderr, nil))
	}
	go func() { done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != cli.ExitOK {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, l := range strings.Split(stderr.String(), "\n") {
			if a, ok := strings.CutPrefix(l, "outflow resolve: udp on "); ok {
				return a, &stderr
			}
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("resolver exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("resolver did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func rcode(t *testing.T, addr, name string) int {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, err := dns.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r.Rcode
}

func TestTCPFlags(t *testing.T) {
	f := flags{block: cli.Strings{"bytedance"}, upstreams: cli.Strings{"127.0.0.1:53"}, maxTCP: 100, tcpClient: 4, tcpIdle: 3 * time.Second, rate: -1, cacheSize: -1}
	cfg, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.MaxTCP != 100 || cfg.Listen.MaxTCPPerClient != 4 || cfg.Listen.TCPIdle != 3*time.Second {
		t.Errorf("listen %+v", cfg.Listen)
	}
	f = flags{block: cli.Strings{"bytedance"}, upstreams: cli.Strings{"127.0.0.1:53"}, maxTCP: -1, tcpClient: -1, rate: -1, cacheSize: -1}
	if cfg, err = f.build(); err != nil || cfg.Listen.MaxTCP != 1024 || cfg.Listen.MaxTCPPerClient != 32 || cfg.Listen.TCPIdle != 10*time.Second {
		t.Errorf("defaults: %+v %v", cfg.Listen, err)
	}
	f = flags{block: cli.Strings{"bytedance"}, upstreams: cli.Strings{"127.0.0.1:53"}, maxTCP: -1, tcpClient: -1, tcpIdle: -time.Second, rate: -1, cacheSize: -1}
	if _, err = f.build(); err == nil || !strings.Contains(err.Error(), "tcp_idle") {
		t.Errorf("negative --tcp-idle: %v", err)
	}
}

func TestStats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.jsonl")
	var b []byte
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	add := func(client string, at time.Time, name, verdict string) {
		e := &querylog.Entry{Time: at, Client: netip.MustParseAddr(client), Proto: "udp", Type: 1, Verdict: verdict,
			Rule: "tiktok-ban", Entity: "tiktok-pte", Deadline: time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)}
		e.SetName([]byte(name))
		b = append(querylog.AppendJSON(b, e), '\n')
	}
	add("10.0.0.1", t0, "www.tiktok.com", "due")
	add("10.0.0.1", t0.AddDate(0, 0, 12), "www.tiktok.com", "block")
	add("10.0.0.2", t0.AddDate(0, 0, 1), "v16.tiktokcdn.com", "due")
	os.WriteFile(path, b, 0o644)

	var out, errw bytes.Buffer
	code := run(context.Background(), env(&out, &errw), []string{"stats", "--log", path})
	if code != cli.ExitConcern {
		t.Errorf("exit %d, want %d (clients still asking after the deadline)", code, cli.ExitConcern)
	}
	s := out.String()
	after, before, _ := strings.Cut(s, "Asked before the deadline")
	if !strings.Contains(after, "Still asking after the deadline: 1") || !strings.Contains(after, "10.0.0.1") || strings.Contains(after, "10.0.0.2") {
		t.Errorf("after-deadline section wrong:\n%s", s)
	}
	if !strings.Contains(before, "10.0.0.2") || !strings.Contains(before, "2026-01-11 09:00:00") {
		t.Errorf("before-deadline section wrong:\n%s", s)
	}
	out.Reset()
	code = run(context.Background(), env(&out, &errw), []string{"stats", "--log", path, "--until", "2026-01-15", "--json"})
	if code != cli.ExitOK || !strings.Contains(out.String(), `"queries": 2`) {
		t.Errorf("--until: exit %d\n%s", code, out.String())
	}
}

// TestImportIntoStore: a recorded query log imported into the store shows
// the client that kept asking after the deadline.
func TestImportIntoStore(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "q.jsonl")
	var b []byte
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	for i, v := range []string{"due", "block", "block"} {
		e := &querylog.Entry{Time: t0.AddDate(0, 0, 6*i), Client: netip.MustParseAddr("10.0.0.7"), Proto: "udp", Type: 1, Verdict: v,
			Rule: "tiktok-ban", Entity: "tiktok", Deadline: time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)}
		e.SetName([]byte("www.tiktok.com"))
		b = append(querylog.AppendJSON(b, e), '\n')
	}
	b = append(b, "{truncated\n"...)
	os.WriteFile(logPath, b, 0o644)
	dbPath := filepath.Join(dir, "outflow.db")
	var out, errw bytes.Buffer
	code := run(context.Background(), env(&out, &errw), []string{"import", "--store", dbPath, "--log", logPath})
	if code != cli.ExitOK || !strings.Contains(out.String(), "imported 3 queries (1 lines skipped)") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errw.String())
	}
	st, err := backend.OpenReadOnly(context.Background(), store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	over, err := st.Overdue(context.Background(), store.Filter{Until: t0.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(over) != 1 || over[0].Client != "10.0.0.7" || over[0].Queries != 1 || !over[0].First.Equal(t0.AddDate(0, 0, 12)) {
		t.Fatalf("overdue %+v", over)
	}
	// The queries' entity is named from the catalog, though no flow to it
	// was ever stored.
	ents, err := st.Entities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name != "TikTok Pte. Ltd." || ents[0].Registered != "SG" || ents[0].Jurisdiction != "CN" {
		t.Errorf("entities %+v", ents)
	}
}

func TestSpareProc(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(n)
	t.Setenv("GOMAXPROCS", "")
	l := resolver.Listen{Batch: true}
	spareProc(&l)
	want := n
	if resolver.BatchSupported {
		want = n + 1
	}
	if l.Workers != n || runtime.GOMAXPROCS(0) != want {
		t.Errorf("%d workers with GOMAXPROCS %d, want %d and %d", l.Workers, runtime.GOMAXPROCS(0), n, want)
	}
	runtime.GOMAXPROCS(n)
	l = resolver.Listen{Batch: true, Workers: 64}
	spareProc(&l)
	if l.Workers != 64 || runtime.GOMAXPROCS(0) != want {
		t.Errorf("workers: 64 gave %d workers, GOMAXPROCS %d, want %d (not one a worker)", l.Workers, runtime.GOMAXPROCS(0), want)
	}
	runtime.GOMAXPROCS(n)
	spareProc(&resolver.Listen{Batch: false})
	if runtime.GOMAXPROCS(0) != n {
		t.Errorf("without batching GOMAXPROCS became %d", runtime.GOMAXPROCS(0))
	}
	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)
	spareProc(&resolver.Listen{Batch: true, Workers: 5})
	if runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("GOMAXPROCS set in the environment was overridden: %d", runtime.GOMAXPROCS(0))
	}
}
