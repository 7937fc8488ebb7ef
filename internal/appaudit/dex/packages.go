package dex

import (
	"bytes"
	"sort"
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
func PackageCounts(counts map[string]int, depth int, files ...*File) map[string]int {
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
func (p *PrefixCounter) AddFile(f *File) {
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
func (s *ClassSet) AddFile(f *File) {
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
