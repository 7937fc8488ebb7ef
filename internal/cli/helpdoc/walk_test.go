package helpdoc

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/cli"
)

// tool is a real command built the way outflow's are: cli.NewFlags, a
// "subcommands:" list, one subcommand named only in a usage line.
func tool() cli.Command {
	return cli.Command{Name: "tool", Summary: "a test tool", Run: func(ctx context.Context, env *cli.Env, args []string) int {
		if len(args) > 0 && (args[0] == "one" || args[0] == "two" || args[0] == "three") {
			fs := cli.NewFlags(env, "tool "+args[0], "tool "+args[0]+" [--json] FILE")
			fs.Bool("json", false, "write JSON")
			fs.String("o", "", "write to `FILE`")
			_, code, _ := cli.Parse(fs, args[1:])
			return code
		}
		fmt.Fprint(env.Stderr, "usage: outflow tool SUBCOMMAND\n       outflow tool three|four\n\nsubcommands:\n  one FILE    the first\n  two         the second\n")
		return cli.ExitOK
	}}
}

func TestWalk(t *testing.T) {
	root := Walk([]cli.Command{tool()})
	if len(root.Subs) != 1 {
		t.Fatalf("root has %d commands", len(root.Subs))
	}
	c := root.Subs[0]
	var got []string
	for _, s := range c.Subs {
		got = append(got, s.Name()+": "+s.Summary)
	}
	// "four" is named in a usage line but answers with the parent's help: dropped.
	want := []string{"outflow tool three: ", "outflow tool one: the first", "outflow tool two: the second"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("subcommands (-want +got):\n%s", d)
	}
	wantFlags := []Flag{{Name: "json", Usage: "write JSON"}, {Name: "o", Arg: "FILE", Usage: "write to FILE"}}
	if d := cmp.Diff(wantFlags, c.Subs[0].Flags); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	for _, sh := range Shells {
		s, err := Completion(root, sh)
		if err != nil || !strings.Contains(s, "three") || !strings.Contains(s, "json") {
			t.Errorf("%s completion: %v\n%s", sh, err, s)
		}
	}
	pages := ManPages(root, "2026-01-02", "v1")
	if len(pages) != 2 || pages[1].File != "outflow-tool.1" || !strings.Contains(pages[1].Text, `.SS outflow tool one`) ||
		!strings.Contains(pages[1].Text, `\fB\-o\fR \fIFILE\fR`) {
		t.Errorf("pages: %+v", pages)
	}
}

func TestEsc(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`.hidden`, `\&.hidden`},
		{`'quote`, `\&'quote`},
		{`a\b`, `a\eb`},
		{`--flag`, `\-\-flag`},
	} {
		if got := esc(tc.in); got != tc.want {
			t.Errorf("esc(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
