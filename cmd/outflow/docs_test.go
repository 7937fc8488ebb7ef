package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
)

// runOut runs outflow in-process and returns its standard output.
func runOut(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.OSEnv()
	env.Stdout, env.Stderr = &out, &errb
	if code := run(context.Background(), env, args); code != cli.ExitOK {
		t.Fatalf("outflow %v: exit %d, stderr %q", args, code, errb.String())
	}
	return out.String()
}

// TestCompletionBash sources the script in a real bash and asks it what
// it completes, as the shell would after TAB.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := filepath.Join(t.TempDir(), "outflow.bash")
	if err := os.WriteFile(script, []byte(runOut(t, "completion", "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string // words typed; the last is being completed
		want string // COMPREPLY joined by spaces
	}{
		{"outflow se", "sensor serve"},
		{"outflow catalog l", "lists lookup"},
		{"outflow sensor --flow-l", "--flow-listen"},
		{"outflow resolve ch", "check"},
		{"outflow resolve check --conf", "--config"},
		{"outflow fleet watch --pol", "--policy --poll"},
		{"outflow catalog export -", ""}, // checked below: has -o, not --o
		{"outflow scan --store x.db --js", "--json"},
		{"outflow --ver", "--version"},
	} {
		words := strings.Fields(tc.line)
		if strings.HasSuffix(tc.line, " ") {
			words = append(words, "")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_outflow\nprintf '%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '\n"
		out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		got := strings.TrimSpace(string(out))
		if tc.want == "" {
			if !strings.Contains(" "+got+" ", " -o ") || strings.Contains(got, "--o ") {
				t.Errorf("%q completed %q, want -o among the flags and no --o", tc.line, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%q completed %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestCompletionFish asks a real fish for its completions.
func TestCompletionFish(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("no fish (apt-get install fish)")
	}
	script := filepath.Join(t.TempDir(), "outflow.fish")
	if err := os.WriteFile(script, []byte(runOut(t, "completion", "fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"outflow se", "sensor serve"},
		{"outflow catalog l", "lists lookup"},
		{"outflow sensor --flow-l", "--flow-listen"},
		{"outflow resolve check --conf", "--config"},
	} {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+script+"; complete -C '"+tc.line+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			w, _, _ := strings.Cut(l, "\t")
			got = append(got, w)
		}
		if g := strings.Join(sortedCopy(got), " "); g != tc.want {
			t.Errorf("%q completed %q, want %q", tc.line, g, tc.want)
		}
	}
}

// TestCompletionZsh checks the script parses; zsh's completion system
// needs a terminal to be driven.
func TestCompletionZsh(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh (apt-get install zsh)")
	}
	script := filepath.Join(t.TempDir(), "_outflow")
	s := runOut(t, "completion", "zsh")
	if err := os.WriteFile(script, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// The helper functions answer as bash's do.
	out, err := exec.Command(zsh, "-f", "-c", "autoload -Uz compinit; compinit -u; source "+script+"; _outflow_subs outflow_catalog; _outflow_argflags outflow_sensor").CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "lookup") || !strings.Contains(string(out), "--flow-listen") {
		t.Errorf("zsh helpers printed %q", out)
	}
}

// TestManPages writes the pages and, with man-db present, renders each
// with warnings on: any warning fails (lintian runs the same check).
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1780000000")
	runOut(t, "man", dir)
	want := []string{"outflow.1"}
	for _, c := range commands() {
		want = append(want, "outflow-"+c.Name+".1")
	}
	for _, f := range want {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `.TH `) || !strings.Contains(string(b), `"2026-05-28"`) {
			t.Errorf("%s: no .TH line dated by SOURCE_DATE_EPOCH:\n%.300s", f, b)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "outflow-sensor.1"))
	for _, s := range []string{`\-\-flow\-listen`, `\-\-interface`, ".SH OPTIONS"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("outflow-sensor.1 lacks %q", s)
		}
	}
	b, _ = os.ReadFile(filepath.Join(dir, "outflow-catalog.1"))
	if !strings.Contains(string(b), ".SS outflow catalog lookup") {
		t.Errorf("outflow-catalog.1 has no section for catalog lookup")
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Skip("no man-db: pages not rendered")
	}
	for _, f := range want {
		cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", filepath.Join(dir, f))
		cmd.Env = append(os.Environ(), "MANWIDTH=80")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man %s: %v %s", f, err, stderr.String())
		}
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	var errb bytes.Buffer
	env := cli.OSEnv()
	env.Stdout, env.Stderr = &bytes.Buffer{}, &errb
	if code := run(context.Background(), env, []string{"completion", "tcsh"}); code != cli.ExitFailure || !strings.Contains(errb.String(), "tcsh") {
		t.Errorf("completion tcsh: exit %d, %q", code, errb.String())
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
