package dex_test

// Package counting by descriptor prefix: the auditor does not count classes
// by package (its rules name the classes and methods they look for), so
// this lives with the tests, which check Classes against androguard's
// per-prefix class counts through it.

import (
	"bytes"
	"slices"
	"sort"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

// PackageOf returns the package part of a class descriptor in descriptor
// form, with its trailing slash: "Lcom/foo/Bar;" gives "Lcom/foo/", and a
// class in the default package ("LBar;") gives "L". It returns nil for
// descriptors that are not classes (primitives, arrays).
func PackageOf(desc []byte) []byte {
	if len(desc) < 3 || desc[0] != 'L' || desc[len(desc)-1] != ';' {
		return nil
	}
	i := bytes.LastIndexByte(desc, '/')
	if i < 0 {
		return desc[:1]
	}
	return desc[:i+1]
}

// PackagePrefix returns the first depth segments of the package of a class
// descriptor: PackagePrefix("Lcom/tencent/bugly/crashreport/A;", 2) is
// "Lcom/tencent/". A package with fewer segments is returned whole; depth <= 0
// also returns the whole package.
func PackagePrefix(desc []byte, depth int) []byte {
	pkg := PackageOf(desc)
	if pkg == nil || depth <= 0 {
		return pkg
	}
	seen := 0
	for i := 1; i < len(pkg); i++ {
		if pkg[i] == '/' {
			seen++
			if seen == depth {
				return pkg[:i+1]
			}
		}
	}
	return pkg
}

// PackageCounts adds to counts (allocated when nil) the number of classes
// each file defines per package prefix of at most depth segments (see
// PackagePrefix), and returns it. A class defined in more than one file
// counts once per file: use a ClassSet first when duplicates matter.
func PackageCounts(counts map[string]int, depth int, files ...*dex.File) map[string]int {
	if counts == nil {
		counts = make(map[string]int)
	}
	for _, f := range files {
		for _, d := range f.Classes() {
			if p := PackagePrefix(d, depth); p != nil {
				counts[string(p)]++ // the map lookup does not allocate for existing keys
			}
		}
	}
	return counts
}

// PrefixCounter counts class descriptors under a fixed list of prefixes,
// such as the package prefixes of SDKs ("Lcom/tencent/bugly/") or single
// classes ("Lcom/stub/StubApp"). A descriptor counts for every prefix it
// starts with. It walks a byte trie, so the cost per descriptor is its
// length, whatever the number of prefixes.
type PrefixCounter struct {
	prefixes []string
	counts   []int
	nodes    []trieNode
}

type trieNode struct {
	edges []trieEdge // sorted by byte
	ids   []int      // prefixes ending here
}

type trieEdge struct {
	c    byte
	next int32
}

// NewPrefixCounter compiles prefixes; duplicates are counted separately.
func NewPrefixCounter(prefixes []string) *PrefixCounter {
	p := &PrefixCounter{
		prefixes: append([]string(nil), prefixes...),
		counts:   make([]int, len(prefixes)),
		nodes:    []trieNode{{}},
	}
	for id, s := range prefixes {
		n := 0
		for i := 0; i < len(s); i++ {
			n = p.child(n, s[i])
		}
		p.nodes[n].ids = append(p.nodes[n].ids, id)
	}
	return p
}

func (p *PrefixCounter) child(n int, c byte) int {
	edges := p.nodes[n].edges
	k := sort.Search(len(edges), func(i int) bool { return edges[i].c >= c })
	if k < len(edges) && edges[k].c == c {
		return int(edges[k].next)
	}
	p.nodes = append(p.nodes, trieNode{})
	next := len(p.nodes) - 1
	edges = append(edges, trieEdge{})
	copy(edges[k+1:], edges[k:])
	edges[k] = trieEdge{c: c, next: int32(next)}
	p.nodes[n].edges = edges
	return next
}

// Add counts one descriptor.
func (p *PrefixCounter) Add(desc []byte) {
	n := 0
	for _, id := range p.nodes[0].ids {
		p.counts[id]++
	}
	for _, c := range desc {
		edges := p.nodes[n].edges
		next := -1
		for _, e := range edges { // few edges per node: linear beats binary search
			if e.c == c {
				next = int(e.next)
				break
			}
			if e.c > c {
				break
			}
		}
		if next < 0 {
			return
		}
		n = next
		for _, id := range p.nodes[n].ids {
			p.counts[id]++
		}
	}
}

// AddFile counts every class f defines.
func (p *PrefixCounter) AddFile(f *dex.File) {
	for _, d := range f.Classes() {
		p.Add(d)
	}
}

// Counts returns the count for each prefix, in the order given to
// NewPrefixCounter.
func (p *PrefixCounter) Counts() []int { return append([]int(nil), p.counts...) }

// Count returns the count of prefix i.
func (p *PrefixCounter) Count(i int) int { return p.counts[i] }

// ClassSet collects the distinct class descriptors of several DEX files of
// one app. When two files define the same class the runtime uses the one it
// loads first, so an app's class count is the size of this set (androguard
// counts the same way).
type ClassSet struct {
	m map[string]struct{}
	// Duplicates counts definitions of a class already in the set.
	Duplicates int
}

// NewClassSet returns an empty set.
func NewClassSet() *ClassSet { return &ClassSet{m: make(map[string]struct{})} }

// AddFile adds every class f defines.
func (s *ClassSet) AddFile(f *dex.File) {
	for _, d := range f.Classes() {
		if _, ok := s.m[string(d)]; ok {
			s.Duplicates++
			continue
		}
		s.m[string(d)] = struct{}{}
	}
}

// Len is the number of distinct classes.
func (s *ClassSet) Len() int { return len(s.m) }

// Has reports whether desc is in the set.
func (s *ClassSet) Has(desc string) bool {
	_, ok := s.m[desc]
	return ok
}

// Sorted returns the descriptors as raw strings (MUTF-8 bytes), sorted
// bytewise.
func (s *ClassSet) Sorted() []string {
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPackageOfAndPrefix(t *testing.T) {
	tests := []struct {
		desc    string
		pkg     string
		depth   int
		prefix  string
		isClass bool
	}{
		{"Lcom/tencent/bugly/crashreport/A;", "Lcom/tencent/bugly/crashreport/", 2, "Lcom/tencent/", true},
		{"Lcom/tencent/bugly/crashreport/A;", "Lcom/tencent/bugly/crashreport/", 0, "Lcom/tencent/bugly/crashreport/", true},
		{"Lcom/tencent/A;", "Lcom/tencent/", 5, "Lcom/tencent/", true},
		{"La/b;", "La/", 1, "La/", true},
		{"LTop;", "L", 2, "L", true},
		{"I", "", 1, "", false},
		{"[Lcom/foo/Bar;", "", 1, "", false},
		{"L;", "", 1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := PackageOf([]byte(tc.desc))
			if (p != nil) != tc.isClass || string(p) != tc.pkg {
				t.Errorf("PackageOf = %q, want %q", p, tc.pkg)
			}
			if got := PackagePrefix([]byte(tc.desc), tc.depth); string(got) != tc.prefix {
				t.Errorf("PackagePrefix(%d) = %q, want %q", tc.depth, got, tc.prefix)
			}
		})
	}
}

func TestPrefixCounter(t *testing.T) {
	prefixes := []string{"Lcom/tencent/", "Lcom/tencent/bugly/", "Lcom/stub/StubApp", "Lcom/", "", "Lcom/tencent/"}
	pc := NewPrefixCounter(prefixes)
	for _, d := range []string{
		"Lcom/tencent/bugly/Bugly;",
		"Lcom/tencent/mm/opensdk/A;",
		"Lcom/stub/StubApp;",
		"Lcom/stub/StubApp$1;",
		"Lcom/stubborn/X;",
		"Lorg/other/Y;",
		"Lcom/tencen;",
	} {
		pc.Add([]byte(d))
	}
	want := []int{2, 1, 2, 6, 7, 2}
	if got := pc.Counts(); !slices.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

func TestPackageCountsAndClassSet(t *testing.T) {
	a, err := dex.Parse(mustBuild(t, dextest.Spec{Classes: []string{"Lcom/tencent/bugly/A;", "Lcom/tencent/mm/B;", "Lcom/x/C;", "LTop;"}}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := dex.Parse(mustBuild(t, dextest.Spec{Classes: []string{"Lcom/tencent/bugly/A;", "Lorg/D;"}}))
	if err != nil {
		t.Fatal(err)
	}
	counts := PackageCounts(nil, 2, a, b)
	want := map[string]int{"Lcom/tencent/": 3, "Lcom/x/": 1, "L": 1, "Lorg/": 1}
	if len(counts) != len(want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("counts[%q] = %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}

	set := NewClassSet()
	set.AddFile(a)
	set.AddFile(b)
	if set.Len() != 5 || set.Duplicates != 1 {
		t.Errorf("set: %d classes, %d duplicates; want 5 and 1", set.Len(), set.Duplicates)
	}
	if !set.Has("Lorg/D;") || set.Has("Lorg/E;") {
		t.Error("Has is wrong")
	}
	if got := set.Sorted(); !slices.IsSorted(got) || len(got) != 5 {
		t.Errorf("Sorted = %q", got)
	}
}

func TestMultidexOrder(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		loaded  []string
		skipped []string
	}{
		{"single", []string{"AndroidManifest.xml", "classes.dex"}, []string{"classes.dex"}, nil},
		{"ordered by number not name", []string{"classes10.dex", "classes2.dex", "classes.dex", "classes3.dex", "classes4.dex", "classes5.dex", "classes6.dex", "classes7.dex", "classes8.dex", "classes9.dex"},
			[]string{"classes.dex", "classes2.dex", "classes3.dex", "classes4.dex", "classes5.dex", "classes6.dex", "classes7.dex", "classes8.dex", "classes9.dex", "classes10.dex"}, nil},
		{"gap", []string{"classes.dex", "classes2.dex", "classes4.dex"}, []string{"classes.dex", "classes2.dex"}, []string{"classes4.dex"}},
		{"odd names", []string{"classes.dex", "classes1.dex", "classes02.dex", "classesX.dex", "assets/classes2.dex", "lib/x.dex"},
			[]string{"classes.dex"}, []string{"classes02.dex", "classes1.dex", "classesX.dex"}},
		{"no classes.dex", []string{"classes2.dex"}, nil, []string{"classes2.dex"}},
		{"duplicate entry", []string{"classes.dex", "classes.dex"}, []string{"classes.dex"}, []string{"classes.dex"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loaded, skipped := dex.MultidexOrder(tc.in)
			if !slices.Equal(loaded, tc.loaded) || !slices.Equal(skipped, tc.skipped) {
				t.Errorf("MultidexOrder = %q, %q; want %q, %q", loaded, skipped, tc.loaded, tc.skipped)
			}
		})
	}
	for name, want := range map[string]int{"classes.dex": 1, "classes2.dex": 2, "classes10.dex": 10} {
		if n, ok := dex.DexEntryIndex(name); !ok || n != want {
			t.Errorf("DexEntryIndex(%q) = %d, %v", name, n, ok)
		}
	}
	for _, name := range []string{"classes1.dex", "classes02.dex", "classes.dex.bak", "classes-2.dex", "classes99999999999.dex"} {
		if _, ok := dex.DexEntryIndex(name); ok {
			t.Errorf("DexEntryIndex(%q) accepted", name)
		}
	}
}
