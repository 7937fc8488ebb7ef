package sensorcmd

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// TestPolicyFromStore: the sensor starts on the policy the dashboard
// saved in the shared store, takes the next valid change into its policy
// file and its alerts, and keeps its policy when a change does not load.
func TestPolicyFromStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, pol := filepath.Join(dir, "s.db"), filepath.Join(dir, "policy.yaml")
	const (
		v1 = "rules:\n  - {id: one, action: block, names: [one.example]}\n"
		v2 = "rules:\n  - {id: two, action: block, names: [two.example]}\n  - {id: three, action: block, names: [three.example]}\n"
	)
	if st, err := backend.Open(ctx, store.Config{Path: db}, nil); err != nil {
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
		c := &store.PolicyChange{Time: time.Now().UTC(), User: "admin", Comment: "test", After: after}
		if err := dash.(store.PolicyLog).WritePolicyChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	save(v1)
	sctx, cancel := context.WithCancel(ctx)
	var stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Run(sctx, testEnv(io.Discard, &stderr), []string{"--store", db, "--flow-listen", "127.0.0.1:0", "--policy", pol, "--policy-from-store"})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	}()
	waitAddr(t, &stderr)
	if b, _ := os.ReadFile(pol); string(b) != v1 {
		t.Fatalf("policy file %q at start, want the store's", b)
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(stderr.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log: %s", what, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	save(v2)
	waitFor("rules=2") // "sensor: policy reloaded after a change of its file"
	if b, _ := os.ReadFile(pol); string(b) != v2 {
		t.Errorf("policy file %q, want the second change", b)
	}
	save("rules: [\n")
	waitFor("does not load here")
	if b, _ := os.ReadFile(pol); string(b) != v2 {
		t.Errorf("policy file %q after a broken change, want the last valid one", b)
	}
}

func TestPolicyFromStoreNeedsPolicy(t *testing.T) {
	var stderr syncBuf
	code := Run(context.Background(), testEnv(io.Discard, &stderr), []string{"--store", filepath.Join(t.TempDir(), "s.db"), "--flow-listen", "127.0.0.1:0", "--policy-from-store"})
	if code == 0 || !strings.Contains(stderr.String(), "--policy-from-store needs --policy FILE") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
