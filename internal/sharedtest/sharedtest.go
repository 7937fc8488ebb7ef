// Package sharedtest finds the real test data that sits beside the
// repository in ../shared/testdata (captures, APKs, exports, and the
// oracles' answers about them) for the tests that compare against it.
//
// A user's own clone has no ../shared: there those tests skip. Anywhere
// else a missing file is a failure, so that an oracle comparison cannot
// pass by skipping: when ../shared exists but lacks a file a test needs,
// and under CI=true whether ../shared exists or not (CI always has it).
//
// It is a test helper: imported by _test.go files only, never by a
// package of the outflow binary (internal/archtest checks that); it
// imports only the standard library.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is <repo>/../shared/testdata, found by walking up from the working
// directory (a test's package directory) to the repository's go.mod; it
// works with -trimpath too.
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "testdata")
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "testdata")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "..", "shared", "testdata")
		}
	}
}

// Path returns the file or folder elem under ../shared/testdata. When it
// is missing, Path skips tb in a clone without ../shared and fails it
// otherwise (see the package doc).
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p, ok := lookup(elem)
	if !ok {
		missing(tb, p)
	}
	return p
}

// Optional is Path for data that only adds to a test that also runs
// without it, such as fuzz seeds: without ../shared it returns false
// instead of skipping.
func Optional(tb testing.TB, elem ...string) (string, bool) {
	tb.Helper()
	p, ok := lookup(elem)
	if !ok && (present() || ci()) {
		missing(tb, p)
	}
	return p, ok
}

// Glob returns the matches of pattern under ../shared/testdata; no match
// counts as a missing file.
func Glob(tb testing.TB, pattern ...string) []string {
	tb.Helper()
	p := filepath.Join(append([]string{Root()}, pattern...)...)
	m, err := filepath.Glob(p)
	if err != nil {
		tb.Fatalf("sharedtest: %s: %v", p, err)
	}
	if len(m) == 0 {
		missing(tb, p)
	}
	return m
}

func lookup(elem []string) (string, bool) {
	p := filepath.Join(append([]string{Root()}, elem...)...)
	_, err := os.Stat(p)
	return p, err == nil
}

// present says whether ../shared is there at all.
func present() bool {
	_, err := os.Stat(filepath.Dir(Root()))
	return err == nil
}

func ci() bool { return os.Getenv("CI") == "true" }

func missing(tb testing.TB, p string) {
	tb.Helper()
	switch {
	case ci():
		tb.Fatalf("shared test data %s missing, and CI=true: CI always has ../shared, so this fails rather than skip", p)
	case present():
		tb.Fatalf("shared test data %s missing although ../shared is there: a skip would hide this oracle comparison", p)
	default:
		tb.Skipf("shared test data %s absent: a clone without ../shared (it sits beside the repository)", p)
	}
}
