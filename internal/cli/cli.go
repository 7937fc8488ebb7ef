// Package cli holds what every outflow subcommand shares: its standard
// streams, exit codes, flag parsing that reports usage errors the same way,
// and the catalog flags. Subcommands live in their own packages under
// internal/cli.
//
// It must never import a subcommand package.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// Exit codes shared by the commands.
const (
	ExitOK      = 0
	ExitFailure = 1 // usage error or failed check
	ExitInput   = 2 // unreadable or corrupt input
	ExitConcern = 3 // entities of concern found
)

// Env is a command's world: streams, logger and clock, so tests can run
// commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	Now    func() time.Time
}

// OSEnv is the real process environment.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: time.Now}
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) int
}

// Errorf prints a one-line error and returns code.
func (e *Env) Errorf(code int, format string, a ...any) int {
	fmt.Fprintf(e.Stderr, "outflow: "+format+"\n", a...)
	return code
}

// NewFlags makes a flag set that prints usage to the command's stderr.
func NewFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: outflow %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses flags, allowing flags after positional arguments as users
// expect ("outflow catalog lookup x --json"). ok is false after a usage
// error (already reported) or -h.
func Parse(fs *flag.FlagSet, args []string) (rest []string, code int, ok bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			return nil, ExitFailure, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, ExitOK, true
}

// Strings is a repeatable string flag.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set appends a value; commas separate several.
func (s *Strings) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// CatalogFlags are the flags of every command that reads the catalog.
type CatalogFlags struct {
	Dirs Strings
	At   string
}

// Register adds --catalog-dir and --at.
func (c *CatalogFlags) Register(fs *flag.FlagSet) {
	fs.Var(&c.Dirs, "catalog-dir", "directory of catalog files to load on top of the built-in catalog (repeatable)")
	fs.StringVar(&c.At, "at", "", "resolve ownership as of this date (YYYY-MM-DD; default today)")
}

// Open loads the catalog the flags name.
func (c *CatalogFlags) Open(env *Env) (*catalog.Index, error) {
	at := env.Now()
	if c.At != "" {
		d, err := catalog.ParseDate(c.At)
		if err != nil {
			return nil, fmt.Errorf("--at: %w", err)
		}
		at = d.T
	}
	ix, err := catalog.Open(at, c.Dirs...)
	if len(c.Dirs) > 0 {
		// Directories are parsed as text, a few megabytes of tables
		// that are garbage once the index is built: give that memory
		// back now, not at the next GC, so that long-running commands
		// start small. The compiled built-in catalog leaves no such
		// garbage, and a forced collection would cost more than the
		// rest of a short command (it scans the binary's globals).
		debug.FreeOSMemory()
	}
	return ix, err
}
