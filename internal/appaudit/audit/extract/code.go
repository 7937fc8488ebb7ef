package extract

import (
	"bytes"
	"context"
	"hash/maphash"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/elfscan"
)

// Code is what the DEX files of an app hold.
type Code struct {
	// DexFiles are the app's own classes*.dex entries (of every split),
	// sorted; SkippedDex are those among them the runtime does not load
	// (classes1.dex, classes02.dex, or past a gap in the numbering).
	DexFiles   []string
	SkippedDex []string
	// Nested lists code inside the app's archives: DEX files other than
	// the primary ones, and archives (APK, JAR, ZIP) in assets or elsewhere.
	Nested []Nested
	// Classes counts the distinct classes of the primary DEX files, the
	// way androguard counts them; EmbeddedClasses those of nested code.
	Classes         int
	EmbeddedClasses int
	Duplicates      int   // class definitions seen again in another file
	DexBytes        int64 // bytes of DEX read
	// SDKClasses[i] counts the distinct primary classes Want.SDK put in
	// SDK i; SDKEmbedded those of nested code.
	SDKClasses  []int
	SDKEmbedded []int
	// Hits, parallel to the slices of the Want.
	Methods    []Hit
	Fields     []Hit
	Types      []Hit
	Strings    []Hit
	Substrings []Hit
	// ClassNames[i] are class names found under Want.ClassPrefixes[i].
	ClassNames [][]string
	// Hosts found in URLs and as bare names in DEX strings and resources,
	// sorted by name.
	Hosts          []Host
	HostsTruncated bool
	// Stats measures the string constants (const-string and static
	// initial values) of all DEX files.
	Stats dex.StringStats
	// Malformed counts code items that could not be read to their end.
	Malformed int
}

// Hit says where something was found.
type Hit struct {
	Files   int    `json:"files"`             // DEX files it was found in
	Where   string `json:"where"`             // the first of them
	Invoked bool   `json:"invoked,omitempty"` // methods: some code invokes it
	Sample  string `json:"sample,omitempty"`  // substrings: a string containing it
}

// Found reports a hit.
func (h Hit) Found() bool { return h.Files > 0 }

// Host is one hostname (or address) found in the app.
type Host struct {
	Name        string
	URLs        []string // a few URLs with this host, as found
	InDex       bool
	InResources bool
	Bare        bool   // found only as a bare name, never in a URL
	Where       string // first file it was seen in
}

// Nested is code inside code.
type Nested struct {
	Path    string `json:"path"`              // "assets/plugin.apk", "assets/plugin.apk!classes.dex"
	Kind    string `json:"kind"`              // "dex", "apk", "jar", "zip", "xapk", "apks", "aar"
	Classes int    `json:"classes,omitempty"` // for DEX files
	Err     string `json:"error,omitempty"`
}

// MaxURLsPerHost bounds the example URLs kept per host.
const MaxURLsPerHost = 3

type job struct {
	rel     string
	data    []byte
	primary bool
}

type classRec struct {
	h   uint64
	sdk int32
}

// local is what one DEX job found, merged under the collector's lock.
type local struct {
	classes  []classRec
	names    [][]string
	methods  []uint8 // 0 absent, 1 referenced, 2 invoked
	fields   []bool
	types    []bool
	strs     []bool
	subs     []string
	subsHit  []bool
	hosts    map[string]*Host
	hostsCut bool // a host was dropped for the host limit
	stats    dex.StringStats
	bad      int
	ndefined int
}

type collector struct {
	ctx  context.Context
	app  *App
	cfg  Config
	plan *Plan
	seed maphash.Seed

	jobs chan job
	wg   sync.WaitGroup

	mu       sync.Mutex
	primary  map[uint64]struct{}
	embedded map[uint64]struct{}
	hosts    map[string]*Host
	dexFiles map[string]bool
}

func newCollector(ctx context.Context, app *App, cfg Config, plan *Plan) *collector {
	w := plan.want
	c := &collector{
		ctx: ctx, app: app, cfg: cfg, plan: plan, seed: maphash.MakeSeed(),
		jobs:     make(chan job),
		primary:  map[uint64]struct{}{},
		embedded: map[uint64]struct{}{},
		hosts:    map[string]*Host{},
		dexFiles: map[string]bool{},
	}
	code := &app.Code
	code.SDKClasses = make([]int, w.NumSDKs)
	code.SDKEmbedded = make([]int, w.NumSDKs)
	code.Methods = make([]Hit, len(w.Methods))
	code.Fields = make([]Hit, len(w.Fields))
	code.Types = make([]Hit, len(w.Types))
	code.Strings = make([]Hit, len(w.Strings))
	code.Substrings = make([]Hit, len(w.Substrings))
	code.ClassNames = make([][]string, len(w.ClassPrefixes))
	for range cfg.Workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for j := range c.jobs {
				c.process(j)
			}
		}()
	}
	return c
}

func (c *collector) rel(p string) string {
	return strings.TrimPrefix(p, c.app.Name+"!")
}

func (c *collector) problem(where, part string, err error) {
	c.mu.Lock()
	c.app.Problems = append(c.app.Problems, Problem{Where: where, Part: part, Err: err})
	c.mu.Unlock()
}

// item handles one thing the archive walk found; it runs on the walking
// goroutine.
func (c *collector) item(it apk.Item, primary map[string]bool) error {
	rel := c.rel(it.Path)
	if it.Path == c.app.Name {
		rel = ""
	}
	if it.Err != nil {
		part := "archive"
		if it.Kind == apk.KindDEX {
			part = "dex"
		}
		c.problem(rel, part, it.Err)
		if !(it.Kind == apk.KindDEX && dexIsPrimary(it, primary)) {
			c.mu.Lock()
			c.app.Code.Nested = append(c.app.Code.Nested, Nested{Path: rel, Kind: kindName(it.Kind), Err: it.Err.Error()})
			c.mu.Unlock()
		}
		return nil
	}
	if it.Archive != nil {
		c.archive(it, rel, primary[it.Path])
		return nil
	}
	isPrimary := dexIsPrimary(it, primary)
	if rel == "" {
		rel = "classes.dex"
	}
	if isPrimary {
		c.mu.Lock()
		c.dexFiles[rel] = true
		c.mu.Unlock()
	}
	select {
	case c.jobs <- job{rel: rel, data: it.DEX, primary: isPrimary}:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

func kindName(k apk.Kind) string {
	return strings.ToLower(k.String())
}

// archive handles an archive: packer names of its entries, multidex order
// and native libraries of the primary ones, a Nested record for the others.
func (c *collector) archive(it apk.Item, rel string, isPrimary bool) {
	a := it.Archive
	var marks []Mark
	for _, e := range a.Entries() {
		if strings.HasPrefix(e.Name, "res/") || strings.HasPrefix(e.Name, "META-INF/") || strings.HasSuffix(e.Name, "/") {
			continue
		}
		for _, m := range elfscan.NameMarks(e.Name) {
			marks = append(marks, Mark{Where: join(rel, e.Name), Mark: m})
		}
	}
	c.mu.Lock()
	c.app.NameMarks = append(c.app.NameMarks, marks...)
	if it.Depth > 0 && !isPrimary {
		c.app.Code.Nested = append(c.app.Code.Nested, Nested{Path: rel, Kind: kindName(it.Kind)})
	}
	c.mu.Unlock()
	if !isPrimary {
		return
	}
	_, skipped := dex.MultidexOrder(a.Names())
	c.mu.Lock()
	for _, s := range skipped {
		c.app.Code.SkippedDex = append(c.app.Code.SkippedDex, join(rel, s))
	}
	c.mu.Unlock()
	c.native(a, rel)
}

func join(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "!" + name
}

// abiPreference orders the copies of one library: the ELF of one ABI is
// enough to find a packer's marks, and arm64 is what phones run.
var abiPreference = []string{"arm64-v8a", "armeabi-v7a", "armeabi", "x86_64", "x86"}

func abiRank(abi string) int {
	if i := slices.Index(abiPreference, abi); i >= 0 {
		return i
	}
	return len(abiPreference)
}

// native scans one copy of every native library of a primary archive.
func (c *collector) native(a *apk.Archive, rel string) {
	best := map[string]apk.Entry{}
	var order []string
	for _, e := range a.Entries() {
		if !strings.HasSuffix(strings.ToLower(e.Name), ".so") {
			continue
		}
		base := path.Base(e.Name)
		cur, ok := best[base]
		if !ok {
			order = append(order, base)
		}
		if !ok || abiRank(elfscan.PathABI(e.Name)) < abiRank(elfscan.PathABI(cur.Name)) {
			best[base] = e
		}
	}
	for _, base := range order {
		if c.ctx.Err() != nil {
			return
		}
		e := best[base]
		n := Native{Entry: join(rel, e.Name), ABI: elfscan.PathABI(e.Name)}
		if int64(e.Size) > c.cfg.MaxNativeLib {
			n.Marks = elfscan.NameMarks(e.Name)
			n.Err = "not read: larger than the native-library limit"
		} else if b, err := a.ReadFile(e.Name); err != nil {
			n.Marks = elfscan.NameMarks(e.Name)
			n.Err = err.Error()
		} else {
			info, err := elfscan.Scan(e.Name, bytes.NewReader(b), int64(len(b)), c.cfg.ELF)
			if err != nil {
				n.Marks = elfscan.NameMarks(e.Name)
				n.Err = err.Error()
			} else {
				n.Scanned, n.Info, n.Marks = true, info, info.Marks
			}
		}
		c.app.Native = append(c.app.Native, n)
	}
}

// finish waits for the workers and completes the Code.
func (c *collector) finish() {
	close(c.jobs)
	c.wg.Wait()
	code := &c.app.Code
	code.DexFiles = sortedKeys(c.dexFiles)
	slices.SortFunc(code.DexFiles, func(a, b string) int { return compareDexNames(a, b) })
	if r := c.app.Resources; r != nil {
		cut := false
		if strs, err := r.Strings(); err == nil {
			for _, s := range strs {
				cut = !c.scanHosts([]byte(s), "resources.arsc", true, c.hosts) || cut
			}
		}
		for _, sr := range r.StringResources() {
			cut = !c.scanHosts([]byte(sr.Value), "resources.arsc", true, c.hosts) || cut
		}
		code.HostsTruncated = code.HostsTruncated || cut
	}
	code.Hosts = make([]Host, 0, len(c.hosts))
	for _, h := range c.hosts {
		code.Hosts = append(code.Hosts, *h)
	}
	slices.SortFunc(code.Hosts, func(a, b Host) int { return strings.Compare(a.Name, b.Name) })
	for i := range code.ClassNames {
		slices.Sort(code.ClassNames[i])
	}
	slices.SortFunc(code.Nested, func(a, b Nested) int { return strings.Compare(a.Path, b.Path) })
}

// compareDexNames orders classes.dex before classes2.dex before classes10.dex.
func compareDexNames(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// process reads one DEX file (or v41 container) and merges what it found.
func (c *collector) process(j job) {
	if c.ctx.Err() != nil {
		return
	}
	files, err := dex.ParseContainer(j.data)
	if err != nil {
		c.problem(j.rel, "dex", err)
		if !j.primary {
			c.mu.Lock()
			c.app.Code.Nested = append(c.app.Code.Nested, Nested{Path: j.rel, Kind: "dex", Err: err.Error()})
			c.mu.Unlock()
		}
		return
	}
	w := c.plan.want
	l := &local{
		names:   make([][]string, len(w.ClassPrefixes)),
		methods: make([]uint8, len(w.Methods)),
		fields:  make([]bool, len(w.Fields)),
		types:   make([]bool, len(w.Types)),
		strs:    make([]bool, len(w.Strings)),
		subs:    make([]string, len(w.Substrings)),
		subsHit: make([]bool, len(w.Substrings)),
		hosts:   map[string]*Host{},
	}
	for _, f := range files {
		c.scanFile(f, j, l)
	}
	c.merge(j, l)
}

func (c *collector) scanFile(f *dex.File, j job, l *local) {
	p := c.plan
	for _, d := range f.Classes() {
		l.ndefined++
		l.classes = append(l.classes, classRec{h: maphash.Bytes(c.seed, d), sdk: int32(p.sdk(d))})
		for i, pre := range p.prefix {
			if bytes.HasPrefix(d, pre) && len(l.names[i]) < c.cfg.MaxClassNames {
				l.names[i] = append(l.names[i], string(d))
			}
		}
	}
	if len(p.types) > 0 {
		for i := range f.NumTypes() {
			d, err := f.TypeDescriptor(i)
			if err != nil {
				continue
			}
			if k, ok := p.types[string(d)]; ok {
				l.types[k] = true
			}
		}
	}
	refs := f.ScanCode()
	l.bad += refs.Malformed
	if len(p.methods) > 0 {
		for i, m := range f.Methods() {
			byName, ok := p.methods[string(m.Class)]
			if !ok {
				continue
			}
			k, ok := byName[string(m.Name)]
			if !ok {
				continue
			}
			if refs.MethodInvoked(i) {
				l.methods[k] = 2
			} else if l.methods[k] == 0 {
				l.methods[k] = 1
			}
		}
	}
	if len(p.fields) > 0 {
		for _, fr := range f.Fields() {
			if byName, ok := p.fields[string(fr.Class)]; ok {
				if k, ok := byName[string(fr.Name)]; ok {
					l.fields[k] = true
				}
			}
		}
	}
	for _, s := range f.Strings() {
		if k, ok := p.strs[string(s)]; ok {
			l.strs[k] = true
		}
		p.subs.scan(s, func(k int) {
			if !l.subsHit[k] {
				l.subsHit[k] = true
				l.subs[k] = sample(s)
			}
		})
		if !c.scanHosts(s, j.rel, false, l.hosts) {
			l.hostsCut = true
		}
	}
	st := dex.MeasureStrings(f.ConstStrings())
	l.stats.Add(st)
}

func sample(s []byte) string {
	const max = 160
	if len(s) > max {
		return dex.DecodeMUTF8(s[:max]) + "…"
	}
	return dex.DecodeMUTF8(s)
}

// scanHosts adds the hosts of URLs in s, or s itself when it is a bare
// hostname, to hosts. It is called with the collector's lock held or on a
// job-local map. It returns false when a new host was dropped because
// hosts holds MaxHosts already: the caller must mark the list as cut.
func (c *collector) scanHosts(s []byte, where string, res bool, hosts map[string]*Host) bool {
	kept := true
	add := func(host []byte, url []byte) {
		h := hosts[string(host)]
		if h == nil {
			if len(hosts) >= c.cfg.MaxHosts {
				kept = false
				return
			}
			h = &Host{Name: string(host), Where: where, Bare: true}
			hosts[h.Name] = h
		}
		if res {
			h.InResources = true
		} else {
			h.InDex = true
		}
		if url != nil {
			h.Bare = false
			if len(h.URLs) < MaxURLsPerHost && !contains(h.URLs, string(url)) {
				h.URLs = append(h.URLs, string(url))
			}
		}
	}
	if bytes.Contains(s, []byte("://")) {
		scanURLs(s, func(url, host []byte) { add(host, url) })
		return kept
	}
	if h, ok := bareHost(s); ok {
		add(bytes.ToLower(h), nil)
	}
	return kept
}

// merge folds a job's findings into the app.
func (c *collector) merge(j job, l *local) {
	c.mu.Lock()
	defer c.mu.Unlock()
	code := &c.app.Code
	set, counts := c.primary, code.SDKClasses
	if !j.primary {
		set, counts = c.embedded, code.SDKEmbedded
	}
	distinct := 0
	for _, r := range l.classes {
		if _, dup := set[r.h]; dup {
			code.Duplicates++
			continue
		}
		set[r.h] = struct{}{}
		distinct++
		if r.sdk >= 0 && int(r.sdk) < len(counts) {
			counts[r.sdk]++
		}
	}
	if j.primary {
		code.Classes += distinct
	} else {
		code.EmbeddedClasses += distinct
		code.Nested = append(code.Nested, Nested{Path: j.rel, Kind: "dex", Classes: l.ndefined})
	}
	code.DexBytes += int64(len(j.data))
	for i, names := range l.names {
		for _, n := range names {
			if len(code.ClassNames[i]) < c.cfg.MaxClassNames && !contains(code.ClassNames[i], n) {
				code.ClassNames[i] = append(code.ClassNames[i], n)
			}
		}
	}
	hit := func(h *Hit) {
		h.Files++
		if h.Where == "" {
			h.Where = j.rel
		}
	}
	for i, m := range l.methods {
		if m > 0 {
			hit(&code.Methods[i])
			code.Methods[i].Invoked = code.Methods[i].Invoked || m == 2
		}
	}
	for i, ok := range l.fields {
		if ok {
			hit(&code.Fields[i])
		}
	}
	for i, ok := range l.types {
		if ok {
			hit(&code.Types[i])
		}
	}
	for i, ok := range l.strs {
		if ok {
			hit(&code.Strings[i])
		}
	}
	for i, ok := range l.subsHit {
		if ok {
			hit(&code.Substrings[i])
			if code.Substrings[i].Sample == "" {
				code.Substrings[i].Sample = l.subs[i]
			}
		}
	}
	if l.hostsCut {
		code.HostsTruncated = true
	}
	for name, h := range l.hosts {
		g := c.hosts[name]
		if g == nil {
			if len(c.hosts) >= c.cfg.MaxHosts {
				code.HostsTruncated = true
				continue
			}
			cp := *h
			c.hosts[name] = &cp
			continue
		}
		g.InDex = g.InDex || h.InDex
		g.Bare = g.Bare && h.Bare
		for _, u := range h.URLs {
			if len(g.URLs) < MaxURLsPerHost && !contains(g.URLs, u) {
				g.URLs = append(g.URLs, u)
			}
		}
	}
	code.Stats.Add(l.stats)
	code.Malformed += l.bad
}
