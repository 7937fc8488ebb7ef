package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the module path every rule is relative to.
const Module = "github.com/outflow-dev/outflow/"

// Layers of docs/architecture.md, lowest first: a package may import its
// own layer and the ones below it, never one above.
var Layers = []struct {
	Name     string
	Prefixes []string // package paths relative to Module; a prefix covers its sub-packages
}{
	{"core", []string{"catalog!", "internal/catalog", "internal/attribute", "internal/policy", "internal/flowrec",
		"internal/safetext", "internal/version", "internal/yamlconf", "internal/render", "internal/ipcontext", "internal/outfile"}},
	{"source", []string{"internal/capture", "internal/ingest", "internal/sniff", "internal/inventory", "internal/collector",
		"internal/follow", "internal/demo", "internal/appaudit/apk", "internal/appaudit/apksig", "internal/appaudit/arsc",
		"internal/appaudit/axml", "internal/appaudit/dex", "internal/appaudit/elfscan", "internal/resolver/wire", "internal/resolver/neigh"}},
	{"store model", []string{"internal/store!", "internal/store/entityrec"}},
	{"pipeline", []string{"internal/scan", "internal/appaudit/audit", "internal/fleet", "internal/resolver"}},
	{"adapter", []string{"internal/store/scanfeed", "internal/store/auditfeed", "internal/store/querylogsink"}},
	{"sink", []string{"internal/store", "internal/sensor", "internal/web", "internal/report", "internal/export", "internal/alert"}},
	{"command", []string{"internal/cli", "cmd", "internal/sbom"}}, // sbom serves the release tool cmd/outflow-sbom
	{"tool", []string{"bench", "e2e", "internal/archtest"}},       // benchmarks' and tests' programs
}

// Forbidden are imports that the layers allow but the design does not.
var Forbidden = []struct{ From, To, Why string }{
	{"internal/web", "internal/store/sqlite", "the dashboard reads through store.Reader, whatever the backend"},
	{"internal/web", "internal/store/clickhouse", "the dashboard reads through store.Reader, whatever the backend"},
	{"internal/report", "internal/store/sqlite", "reports read through store.Reader"},
	{"internal/report", "internal/store/clickhouse", "reports read through store.Reader"},
	{"internal/store/sqlite", "internal/store/clickhouse", "backends are independent"},
	{"internal/store/clickhouse", "internal/store/sqlite", "backends are independent"},
	{"internal/render", "internal/store", "render draws markup, never reads a store"},
	{"internal/sensor", "internal/store/sqlite", "the sensor writes through store.Writer"},
	{"internal/resolver", "internal/store", "the resolver's query log reaches the store through sinks it is given"},
}

// layerOf returns the index of the most specific layer prefix covering
// pkg (relative to Module), or -1. A prefix ending in "!" covers that
// package only.
func layerOf(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range Layers {
		for _, p := range l.Prefixes {
			exact := strings.HasSuffix(p, "!")
			p = strings.TrimSuffix(p, "!")
			if pkg == p || (!exact && strings.HasPrefix(pkg, p+"/")) {
				if len(p) > bestLen {
					best, bestLen = i, len(p)
				}
			}
		}
	}
	return best
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

// isTestHelper says whether a package exists for tests only: its last
// element ends in "test" (policytest, resolvertest, chtest...), or it is
// a known builder of test inputs.
func isTestHelper(pkg string) bool {
	last := pkg[strings.LastIndexByte(pkg, '/')+1:]
	return strings.HasSuffix(last, "test") || pkg == "internal/inventory/fleetgen" || pkg == "internal/appaudit/audit/apkbuild"
}

// Check returns one line per broken rule in imports (package → its
// imports, both relative to Module for the module's own packages).
func Check(imports map[string][]string) []string {
	var bad []string
	for from, tos := range imports {
		lf := layerOf(from)
		if lf < 0 && !isTestHelper(from) {
			bad = append(bad, fmt.Sprintf("%s: in no layer of docs/architecture.md (add it to archtest.Layers)", from))
			continue
		}
		for _, to := range tos {
			if !strings.HasPrefix(to, "internal/") && !strings.HasPrefix(to, "cmd/") {
				continue
			}
			if isTestHelper(to) && !isTestHelper(from) && (lf < 0 || Layers[lf].Name != "tool") {
				bad = append(bad, fmt.Sprintf("%s imports %s: a test helper in production code", from, to))
				continue
			}
			if lt := layerOf(to); lf >= 0 && lt > lf {
				bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s): imports run from commands to sinks to pipelines to sources to the core, never back",
					from, Layers[lf].Name, to, Layers[lt].Name))
			}
			if under(to, "internal/cli") && !under(from, "internal/cli") && !under(from, "cmd") {
				bad = append(bad, fmt.Sprintf("%s imports %s: only commands import commands", from, to))
			}
			for _, f := range Forbidden {
				if under(from, f.From) && under(to, f.To) {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s", from, to, f.Why))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// TestOnly are dependencies that may serve tests but never the binary.
var TestOnly = []string{"testing", "github.com/google/go-cmp", "github.com/outflow-dev/outflow/internal/archtest"}

// CheckBinary returns one line per package in deps (all of the binary's,
// full paths) that must not be there.
func CheckBinary(deps []string) []string {
	var bad []string
	for _, d := range deps {
		for _, t := range TestOnly {
			if d == t || strings.HasPrefix(d, t+"/") {
				bad = append(bad, d+": a test-only dependency in the binary")
			}
		}
		if rel, ok := strings.CutPrefix(d, Module); ok && isTestHelper(rel) {
			bad = append(bad, d+": a test helper in the binary")
		}
	}
	return bad
}

// SharedNames are the package names that more than one package may carry.
var SharedNames = map[string]string{
	"main":    "every program is package main",
	"catalog": "the catalog's data (catalog) beside its loader (internal/catalog), which imports it as builtin",
}

// CheckNames returns one line per package name that two packages share
// (names: package path → package name), SharedNames aside, so that a
// renderer or any other package is found by its name alone.
func CheckNames(names map[string]string) []string {
	byName := map[string][]string{}
	for pkg, name := range names {
		byName[name] = append(byName[name], pkg)
	}
	var bad []string
	for name, pkgs := range byName {
		if _, ok := SharedNames[name]; ok || len(pkgs) < 2 {
			continue
		}
		sort.Strings(pkgs)
		bad = append(bad, fmt.Sprintf("package name %s is carried by %s: name each package for its job (docs/architecture.md, \"Where renderers live\")", name, strings.Join(pkgs, ", ")))
	}
	sort.Strings(bad)
	return bad
}
