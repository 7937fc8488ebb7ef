package resolvecmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/resolvertest"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// TestPolicyFromStore: a dashboard on another machine saves policy
// changes in the store the resolver shares (here one SQLite file, opened
// by each side as its own process opens it); the resolver takes each
// valid one within seconds, keeps it in its own policy file, and keeps
// the one in force when a stored change does not load.
func TestPolicyFromStore(t *testing.T) {
	auth := resolvertest.NewAuth(t, "one.example. 60 IN A 192.0.2.1", "two.example. 60 IN A 192.0.2.2")
	dir := t.TempDir()
	db := filepath.Join(dir, "outflow.db")
	pol := filepath.Join(dir, "policy.yaml") // not there yet: the store's policy is
	const (
		v1 = "rules:\n  - {id: one, action: block, names: [one.example]}\n"
		v2 = "rules:\n  - {id: two, action: block, names: [two.example]}\n"
	)
	// The dashboard's side: the store opened read-only, the history
	// written through it.
	ctx := context.Background()
	if st, err := backend.Open(ctx, store.Config{Path: db}, nil); err != nil { // create the file
		t.Fatal(err)
	} else {
		st.Close()
	}
	dash, err := backend.OpenReadOnly(ctx, store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dash.Close()
	save := func(after string) {
		t.Helper()
		c := &store.PolicyChange{Time: time.Now().UTC(), User: "admin", Comment: "test", File: "/srv/outflow/policy.yaml", After: after}
		if err := dash.(store.PolicyLog).WritePolicyChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	save(v1)

	addr, stderr := startServeLog(t, true, "--listen", "127.0.0.1:0", "--upstream", auth.Addr, "--store", db, "--policy", pol, "--policy-from-store")
	if b, _ := os.ReadFile(pol); string(b) != v1 {
		t.Fatalf("policy file %q, want the store's", b)
	}
	if got := rcode(t, addr, "one.example"); got != dns.RcodeNameError {
		t.Fatalf("one.example: %s", dns.RcodeToString[got])
	}
	eventually := func(name string, want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for rcode(t, addr, name) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not %s in time; stderr %s", name, dns.RcodeToString[want], stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	save(v2)
	eventually("two.example", dns.RcodeNameError)
	if got := rcode(t, addr, "one.example"); got != dns.RcodeSuccess {
		t.Errorf("one.example after the change: %s", dns.RcodeToString[got])
	}
	// A change naming an entity this resolver's catalog lacks is refused:
	// the file and the policy in force stay.
	save("rules:\n  - {id: bad, action: block, entities: [no-such-entity]}\n")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stderr.String(), "does not load here") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, _ := os.ReadFile(pol); string(b) != v2 {
		t.Errorf("policy file %q after a refused change, want the last valid one", b)
	}
	if got := rcode(t, addr, "two.example"); got != dns.RcodeNameError {
		t.Errorf("two.example after a refused change: %s", dns.RcodeToString[got])
	}
}

func TestPolicyFromStoreNeedsStoreAndFile(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--policy", "p.yaml", "--policy-from-store"},
		{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--block", "x.example", "--store", filepath.Join(t.TempDir(), "s.db"), "--policy-from-store"},
	} {
		var out, errw syncBuffer
		if code := run(context.Background(), env(&out, &errw), args); code == 0 || !strings.Contains(errw.String(), "--policy-from-store needs --store and a policy file") {
			t.Errorf("%v: exit %d, %s", args, code, errw.String())
		}
	}
}
