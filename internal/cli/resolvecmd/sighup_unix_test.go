//go:build unix

package resolvecmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/resolver/resolvertest"
)

// TestEmptyPolicyFailsClosed is the hostile probe of issue 10: a policy
// file emptied under a running resolver, then SIGHUP. The resolver keeps
// blocking with the last good policy; an empty policy is refused at start.
func TestEmptyPolicyFailsClosed(t *testing.T) {
	auth := resolvertest.NewAuth(t, "www.tiktok.com. 60 IN A 192.0.2.20", "ok.example. 60 IN A 192.0.2.1")
	pol := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - id: ban\n    action: block\n    names: [www.tiktok.com]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stderr := startServe(t, "--listen", "127.0.0.1:0", "--upstream", auth.Addr, "--policy", pol)
	if rc := rcode(t, addr, "www.tiktok.com"); rc != dns.RcodeNameError {
		t.Fatalf("before: %s", dns.RcodeToString[rc])
	}
	if err := os.Truncate(pol, 0); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "reload refused") {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP with an empty policy: no refusal printed: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "policy has no rules") {
		t.Errorf("refusal does not say why: %s", stderr.String())
	}
	if rc := rcode(t, addr, "www.tiktok.com"); rc != dns.RcodeNameError {
		t.Errorf("after the empty policy's reload: www.tiktok.com %s, want NXDOMAIN from the last good policy", dns.RcodeToString[rc])
	}
	if rc := rcode(t, addr, "ok.example"); rc != dns.RcodeSuccess {
		t.Errorf("ok.example: %s", dns.RcodeToString[rc])
	}

	// At start, the same empty file is refused.
	var out, errw syncBuffer
	code := run(context.Background(), env(&out, &errw), []string{"--listen", "127.0.0.1:0", "--upstream", auth.Addr, "--policy", pol})
	if code == cli.ExitOK || !strings.Contains(errw.String(), "policy has no rules") {
		t.Errorf("start with an empty policy: exit %d, %s", code, errw.String())
	}
}
