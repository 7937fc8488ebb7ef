package spool

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// drain reads and removes every queued part, oldest first.
func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var got []string
	for range 100 {
		parts, err := s.Oldest()
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) == 0 {
			return got
		}
		for _, p := range parts {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(b))
			if err := s.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("spool never emptied")
	return nil
}

func TestOrderAndBound(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, b := range []string{"aaa", "bbb", "ccc"} {
		if err := s.Append([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append([]byte("dd")); !errors.Is(err, ErrFull) {
		t.Fatalf("a fourth entry past 10 bytes: %v, want ErrFull", err)
	}
	if s.Len() != 3 || s.Bytes() != 9 {
		t.Fatalf("Len %d Bytes %d, want 3 and 9", s.Len(), s.Bytes())
	}
	want := []string{"aaa", "bbb", "ccc"}
	if got := drain(t, s); len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Fatalf("drained %q, want %q", got, want)
	}
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("after draining: Len %d Bytes %d", s.Len(), s.Bytes())
	}
}

// TestStage: a committed stage is queued after older entries and before
// newer ones; an aborted or abandoned one leaves nothing.
func TestStage(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("1")); err != nil {
		t.Fatal(err)
	}
	g, _ := s.Stage()
	g.Append([]byte("2a"))
	g.Append([]byte("2b"))
	ab, _ := s.Stage()
	ab.Append([]byte("aborted"))
	ab.Abort()
	left, _ := s.Stage()
	left.Append([]byte("abandoned"))
	if s.Len() != 1 {
		t.Fatalf("staged parts are queued before Commit: Len %d", s.Len())
	}
	g.Meta([]byte("inputs"))
	if err := g.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Append([]byte("3"))
	if m, _ := s.Metas(); len(m) != 1 || string(m[0]) != "inputs" {
		t.Fatalf("Metas %q", m)
	}
	s.Close() // as a process ending: the abandoned stage is dropped at the next Open

	s, err = Open(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dir != filepath.Join(root, "0") {
		t.Fatalf("the slot of an ended process is not reused: %s", s.Dir)
	}
	got := drain(t, s)
	want := []string{"1", "2a", "2b", "3"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if s.Bytes() != 0 {
		t.Fatalf("Bytes %d after draining", s.Bytes())
	}
}

// TestSlots: two open spools on one root take different slots.
func TestSlots(t *testing.T) {
	root := t.TempDir()
	a, err := Open(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Dir == b.Dir {
		t.Fatalf("two spools share %s", a.Dir)
	}
}
