package policyfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct{ name, a, b, want string }{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"add at end", "a\nb\n", "a\nb\nc\n", "--- p\n+++ p\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"},
		{"change in the middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n",
			"--- p\n+++ p\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{"from empty", "", "a\n", "--- p\n+++ p\n@@ -0,0 +1 @@\n+a\n"},
		{"to empty", "a\n", "", "--- p\n+++ p\n@@ -1 +0,0 @@\n-a\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "A\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\nB\n",
			"--- p\n+++ p\n@@ -1,4 +1,4 @@\n-1\n+A\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+B\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff("p", tc.a, tc.b); got != tc.want {
				t.Fatalf("Diff:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestDiffPatches checks diffs against patch(1) when it is installed: the
// diff applied to the old text gives the new one.
func TestDiffPatches(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("no patch(1)")
	}
	a := "groups:\n  - name: staff\n    addresses: [10.0.0.0/24]\nrules:\n  - id: a\n    entities: bytedance\n  - id: b\n    lists: fcc\n# end\n"
	b := "# the ban\ngroups:\n  - name: staff\n    addresses: [10.0.0.0/24, 10.0.1.0/24]\nrules:\n  - id: b\n    lists: fcc\n  - id: c\n    entities: pdd\n# end\n"
	for _, pair := range [][2]string{{a, b}, {b, a}, {"", a}, {a, ""}} {
		dir := t.TempDir()
		f := filepath.Join(dir, "p")
		os.WriteFile(f, []byte(pair[0]), 0o600)
		cmd := exec.Command(patch, "-s", f)
		cmd.Stdin = strings.NewReader(Diff("p", pair[0], pair[1]))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch: %v: %s", err, out)
		}
		got, _ := os.ReadFile(f)
		if string(got) != pair[1] {
			t.Fatalf("patched:\n%s\nwant:\n%s", got, pair[1])
		}
	}
}
