package sensorcmd

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/policy"
)

func TestPolicyWatch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "policy.yaml")
	one := "rules:\n  - id: one\n    action: block\n    names: example.com\n"
	if err := os.WriteFile(p, []byte(one), 0o644); err != nil {
		t.Fatal(err)
	}
	var pol atomic.Pointer[policy.Policy]
	first, err := policy.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pol.Store(first)
	w := newPolicyWatch(p)
	if w.changed() {
		t.Fatal("changed before any change")
	}
	// An atomic save of the same size and, on a coarse clock, the same
	// time: a new inode all the same.
	same := "rules:\n  - id: two\n    action: block\n    names: example.com\n"
	if err := outfile.Write(p, func(f io.Writer) error { _, err := f.Write([]byte(same)); return err }); err != nil {
		t.Fatal(err)
	}
	if !w.changed() {
		t.Fatal("an atomic replacement was not noticed")
	}
	reloadPolicy(slog.New(slog.DiscardHandler), p, &pol)
	if got := pol.Load().Rules[0].ID; got != "two" {
		t.Fatalf("rule %s after reload", got)
	}
	if w.changed() {
		t.Fatal("changed twice for one save")
	}
	// A broken file keeps the policy in force.
	os.WriteFile(p, []byte("rules: [\n"), 0o644)
	if !w.changed() {
		t.Fatal("a rewrite was not noticed")
	}
	reloadPolicy(slog.New(slog.DiscardHandler), p, &pol)
	if got := pol.Load().Rules[0].ID; got != "two" {
		t.Fatalf("a broken file replaced the policy: %s", got)
	}
	// A file gone for a moment is not a change.
	os.Remove(p)
	if w.changed() {
		t.Fatal("a missing file counted as a change")
	}
}
