// Package helpdoc turns the commands' own -h output into man pages and
// shell completions (bash, zsh, fish), so that what a package installs can
// never disagree with what the binary prints. It runs each command and each
// subcommand it names with -h in-process and reads the usage lines, the
// "subcommands:" list and the flag defaults that package flag prints.
//
// It reads help text, nothing else: it must never import a subcommand
// package (the command list is handed in by cmd/outflow).
package helpdoc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
)

// Command is one node of the command tree as its help describes it.
type Command struct {
	Path    []string // "outflow", "catalog", "lookup"
	Summary string   // one line, from the parent's list
	Help    string   // what -h printed
	Flags   []Flag
	Subs    []*Command
}

// Name is the path joined by spaces: "outflow catalog lookup".
func (c *Command) Name() string { return strings.Join(c.Path, " ") }

// Flag is one flag as flag.PrintDefaults shows it.
type Flag struct {
	Name  string // without dashes
	Arg   string // "string", "int", "duration", "value"...; empty for a boolean
	Usage string
}

// Dashed is the flag as users type it: -o, --json.
func (f Flag) Dashed() string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

// maxDepth bounds the walk: outflow, a command, its subcommands.
const maxDepth = 3

// Walk builds the tree rooted at "outflow" by running every command with
// -h. Nothing it runs gets past flag parsing, so nothing is read or
// written; ctx is cancelled before the first run all the same.
func Walk(cmds []cli.Command) *Command {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := &Command{Path: []string{"outflow"}, Summary: "what devices send to companies and states of concern, and stopping it"}
	for _, c := range cmds {
		n := &Command{Path: []string{"outflow", c.Name}, Summary: c.Summary}
		n.Help = help(ctx, c.Run, []string{"-h"})
		walkSubs(ctx, c, n)
		root.Subs = append(root.Subs, n)
	}
	return root
}

func walkSubs(ctx context.Context, c cli.Command, n *Command) {
	n.Flags = parseFlags(n.Help)
	if len(n.Path) >= maxDepth {
		return
	}
	for _, s := range subcommands(n.Help, n.Path) {
		args := append(append([]string{}, n.Path[2:]...), s.name, "-h")
		h := help(ctx, c.Run, args)
		if h == n.Help || strings.TrimSpace(h) == "" {
			continue // not a subcommand after all: the parent answered
		}
		sub := &Command{Path: append(append([]string{}, n.Path...), s.name), Summary: s.summary, Help: h}
		walkSubs(ctx, c, sub)
		n.Subs = append(n.Subs, sub)
	}
}

// help runs a command and returns what it printed on both streams.
func help(ctx context.Context, run func(context.Context, *cli.Env, []string) int, args []string) string {
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	run(ctx, env, args)
	return out.String()
}

type subcommand struct{ name, summary string }

var (
	subWord  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]*$`) })
	listLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\b(?:.*?\s{2,}(\S.*))?$`) })
)

// subcommands finds the subcommands a help text names: the lines of a
// "subcommands:" list, and usage lines "outflow PARENT WORD ..." (WORD may
// be "a|b").
func subcommands(h string, path []string) []subcommand {
	var subs []subcommand
	seen := map[string]bool{}
	add := func(name, summary string) {
		if !subWord().MatchString(name) {
			return
		}
		if seen[name] {
			for i := range subs {
				if subs[i].name == name && subs[i].summary == "" {
					subs[i].summary = summary
				}
			}
			return
		}
		seen[name] = true
		subs = append(subs, subcommand{name, summary})
	}
	prefix := strings.Join(path, " ") + " "
	inList := false
	for _, line := range strings.Split(h, "\n") {
		switch {
		case strings.TrimSpace(line) == "subcommands:":
			inList = true
			continue
		case inList && strings.TrimSpace(line) == "":
			inList = false
			continue
		case inList:
			if m := listLine().FindStringSubmatch(line); m != nil {
				add(m[1], strings.TrimSpace(m[2]))
			}
			continue
		}
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "usage:"))
		if i := strings.Index(t, prefix); i >= 0 {
			t = t[i+len(prefix):]
			// a leading "outflow: store: usage: outflow store ..." also lands here
			if f := strings.Fields(t); len(f) > 0 {
				for _, w := range strings.Split(f[0], "|") {
					add(w, "")
				}
			}
		}
	}
	return subs
}

// parseFlag reads one "  -name [arg]" line of flag.PrintDefaults; a
// one-letter flag's usage follows a tab on the same line.
func parseFlag(line string) (Flag, bool) {
	if !strings.HasPrefix(line, "  -") || strings.HasPrefix(line, "  --") {
		return Flag{}, false
	}
	head, usage, _ := strings.Cut(line[3:], "\t")
	f := strings.Fields(head)
	if len(f) == 0 || len(f) > 2 || !flagName().MatchString(f[0]) {
		return Flag{}, false
	}
	fl := Flag{Name: f[0], Usage: strings.TrimSpace(usage)}
	if len(f) == 2 {
		fl.Arg = f[1]
	}
	return fl, true
}

var flagName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`) })

// parseFlags reads flag.PrintDefaults output: "  -name type" then the
// usage on lines indented by four spaces and a tab.
func parseFlags(h string) []Flag {
	var flags []Flag
	lines := strings.Split(h, "\n")
	for i := 0; i < len(lines); i++ {
		f, ok := parseFlag(lines[i])
		if !ok {
			continue
		}
		var usage []string
		if f.Usage != "" {
			usage = append(usage, f.Usage)
		}
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    \t") {
			i++
			usage = append(usage, strings.TrimSpace(lines[i]))
		}
		f.Usage = strings.Join(usage, " ")
		flags = append(flags, f)
	}
	sort.SliceStable(flags, func(a, b int) bool { return flags[a].Name < flags[b].Name })
	return flags
}

// text is the help without the flag defaults: usage lines and prose.
func text(h string) (usage, prose []string) {
	lines := strings.Split(strings.TrimRight(h, "\n"), "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if i == 0 {
			if j := strings.Index(t, "usage:"); j >= 0 {
				usage = append(usage, strings.TrimSpace(t[j+len("usage:"):]))
				continue
			}
			break
		}
		if strings.HasPrefix(l, "       ") && t != "" && len(usage) > 0 {
			usage = append(usage, t)
			continue
		}
		break
	}
	for ; i < len(lines); i++ {
		if _, ok := parseFlag(lines[i]); ok {
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    \t") {
				i++
			}
			continue
		}
		prose = append(prose, lines[i])
	}
	for len(prose) > 0 && strings.TrimSpace(prose[0]) == "" {
		prose = prose[1:]
	}
	for len(prose) > 0 && strings.TrimSpace(prose[len(prose)-1]) == "" {
		prose = prose[:len(prose)-1]
	}
	return usage, prose
}
