package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/catalog/domainset"
	"github.com/outflow-dev/outflow/internal/yamlconf"
)

// MaxFileSize bounds the policy file itself; names files are read as
// streams and bounded by MaxNames.
const MaxFileSize = 8 << 20

// MaxNames bounds the names of all names files of a policy.
const MaxNames = 10_000_000

// Options tune Parse.
type Options struct {
	// Open opens a names file; nil means os.Open. Paths are relative to
	// the policy file's directory.
	Open func(path string) (io.ReadCloser, error)
	// SizeHint is the expected number of names, to size the name table.
	SizeHint int
	// Catalog, when given, supplies the DNS services the bypass section
	// and block rules name (the resolver passes the one it serves with).
	Catalog *catalog.Index
}

// StringList is a YAML scalar or sequence of scalars.
type StringList []string

// UnmarshalYAML accepts "x" as well as [x, y].
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a string", c.Line)
			}
			out = append(out, c.Value)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: expected a string or a list of strings", n.Line)
}

type rawPolicy struct {
	// AllowEmpty says a policy without rules is meant: without it, such a
	// policy (an empty or truncated file) is refused, because it would
	// allow everything.
	AllowEmpty bool       `yaml:"allow_empty"`
	Groups     []rawGroup `yaml:"groups"`
	Rules      []rawRule  `yaml:"rules"`
	Bypass     rawBypass  `yaml:"bypass"`
	Defaults   struct {
		Answer    string     `yaml:"answer"`
		BlockPage StringList `yaml:"blockpage"`
	} `yaml:"defaults"`
}

type rawGroup struct {
	Name        string     `yaml:"name"`
	Addresses   StringList `yaml:"addresses"`
	DoHPaths    StringList `yaml:"doh_paths"`
	ClientNames StringList `yaml:"client_names"`
	DeviceTags  StringList `yaml:"device_tags"`
	Owners      StringList `yaml:"owners"`
	Platforms   StringList `yaml:"platforms"`
	MACs        StringList `yaml:"macs"`
	Hostnames   StringList `yaml:"hostnames"`
}

type rawRule struct {
	ID            string     `yaml:"id"`
	Action        string     `yaml:"action"`
	Entities      StringList `yaml:"entities"`
	Lists         StringList `yaml:"lists"`
	Jurisdictions StringList `yaml:"jurisdictions"`
	Names         StringList `yaml:"names"`
	NamesFile     string     `yaml:"names_file"`
	Groups        StringList `yaml:"groups"`
	Basis         string     `yaml:"basis"`
	Effective     string     `yaml:"effective"`
	Warning       string     `yaml:"warning"`
	Hosted        bool       `yaml:"hosted"`
	Answer        string     `yaml:"answer"`
	BlockPage     StringList `yaml:"blockpage"`
	Except        struct {
		Names   StringList `yaml:"names"`
		Groups  StringList `yaml:"groups"`
		Clients StringList `yaml:"clients"`
		Until   string     `yaml:"until"`
	} `yaml:"except"`
}

// Load reads and compiles a policy file.
func Load(path string) (*Policy, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, opt Options) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("policy: %s: larger than %d bytes", path, MaxFileSize)
	}
	return ParseWith(path, b, opt)
}

// Parse compiles a policy read from the file name; names files are opened
// relative to name's directory.
func Parse(name string, b []byte) (*Policy, error) { return ParseWith(name, b, Options{}) }

// ParseWith is Parse with options. Every problem found is returned, each
// naming the file and line (and the column, for those of the YAML).
func ParseWith(name string, b []byte, opt Options) (*Policy, error) {
	var raw rawPolicy
	doc, ps := yamlconf.DecodeNode(name, b, &raw)
	if ps != nil {
		return nil, catalog.FromYAML(ps)
	}
	if doc == nil {
		doc = &yaml.Node{} // an empty file: refused below unless allow_empty
	}
	c := compiler{file: name, opt: opt, p: newPolicy(name)}
	c.p.AllowEmpty = raw.AllowEmpty
	c.compile(&raw, doc)
	if len(raw.Rules) == 0 && !raw.Bypass.Canaries && len(raw.Bypass.DNSServices) == 0 && !raw.AllowEmpty {
		// Fail closed: a file truncated while it is rewritten, or emptied
		// by mistake, must not turn every block into an allow.
		c.add(lineOf(top(doc), "rules"), "%v: write rules, or allow_empty: true if a policy that blocks nothing is meant", ErrNoRules)
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return c.p, nil
}

func newPolicy(file string) *Policy {
	return &Policy{
		File:     file,
		dohPaths: map[string]GroupSet{}, names: map[string]GroupSet{},
		tags: map[string]GroupSet{}, owners: map[string]GroupSet{}, platforms: map[string]GroupSet{},
		macs: map[MAC]GroupSet{}, ouis: map[OUI]GroupSet{}, hosts: map[string]GroupSet{},
		ruleNames: newNameSet(0), exceptNames: newNameSet(0),
	}
}

type compiler struct {
	file      string
	opt       Options
	p         *Policy
	probs     catalog.Problems
	combos    map[GroupSet]uint16 // index of each distinct rule set in p.nameRules
	fileNames int
}

func (c *compiler) add(line int, f string, a ...any) {
	c.probs = append(c.probs, catalog.Problem{Pos: catalog.Pos{File: c.file, Line: line}, Msg: fmt.Sprintf(f, a...)})
}

// items returns the mapping nodes of the sequence under key in the top
// mapping, for line numbers.
func items(doc *yaml.Node, key string) []*yaml.Node {
	if doc == nil || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// lineOf is the line of key inside the mapping n (nested keys with dots),
// else n's own line.
func lineOf(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	cur := n
	for _, k := range strings.Split(key, ".") {
		found := false
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == k {
				cur = cur.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return n.Line
		}
	}
	return cur.Line
}

// itemLine is the line of the i-th item of the sequence under key in the
// mapping n, else the line of key.
func itemLine(n *yaml.Node, key string, i int) int {
	if n == nil {
		return 0
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if v := n.Content[j+1]; n.Content[j].Value == key {
			if v.Kind == yaml.SequenceNode && i < len(v.Content) {
				return v.Content[i].Line
			}
			return v.Line
		}
	}
	return n.Line
}

func top(doc *yaml.Node) *yaml.Node {
	if doc == nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func at(ns []*yaml.Node, i int) *yaml.Node {
	if i < len(ns) {
		return ns[i]
	}
	return nil
}

var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

func (c *compiler) compile(raw *rawPolicy, doc *yaml.Node) {
	p := c.p
	gnodes := items(doc, "groups")
	byName := map[string]int{}
	for i, rg := range raw.Groups {
		n := at(gnodes, i)
		line := lineOf(n, "name")
		if rg.Name == "" {
			c.add(line, "group %d has no name", i+1)
			continue
		}
		if !idRE().MatchString(rg.Name) {
			c.add(line, "group name %q: use letters, digits, '-', '_', '.'", rg.Name)
		}
		if _, dup := byName[rg.Name]; dup {
			c.add(line, "group %q is defined twice", rg.Name)
			continue
		}
		g := &Group{Name: rg.Name, Line: lineOf(n, ""), DoHPaths: rg.DoHPaths, DeviceTags: rg.DeviceTags, Owners: rg.Owners, Platforms: rg.Platforms}
		for _, a := range rg.Addresses {
			pfx, err := parsePrefix(a)
			if err != nil {
				c.add(lineOf(n, "addresses"), "group %s: %v", rg.Name, err)
				continue
			}
			g.Addresses = append(g.Addresses, pfx)
		}
		for _, cn := range rg.ClientNames {
			g.ClientNames = append(g.ClientNames, strings.ToLower(strings.TrimSuffix(cn, ".")))
		}
		for _, pth := range rg.DoHPaths {
			if !strings.HasPrefix(pth, "/") {
				c.add(lineOf(n, "doh_paths"), "group %s: DoH path %q must start with /", rg.Name, pth)
			}
		}
		c.deviceSelectors(g, rg.MACs, rg.Hostnames, func(key string, i int) int { return itemLine(n, key, i) })
		if len(g.Addresses)+len(g.DoHPaths)+len(g.ClientNames)+len(g.DeviceTags)+len(g.Owners)+len(g.Platforms)+
			len(rg.MACs)+len(rg.Hostnames) == 0 {
			c.add(g.Line, "group %s selects no client: give addresses, doh_paths, client_names, device_tags, owners, platforms, macs or hostnames", rg.Name)
		}
		byName[rg.Name] = len(p.Groups)
		p.Groups = append(p.Groups, g)
	}

	defAnswer := Answer{Mode: NXDomain}
	if raw.Defaults.Answer != "" {
		line := lineOf(top(doc), "defaults.answer")
		defAnswer = c.answer(line, raw.Defaults.Answer, raw.Defaults.BlockPage)
	}

	if c.opt.SizeHint > 0 {
		p.ruleNames = newNameSet(c.opt.SizeHint)
	}
	rnodes := items(doc, "rules")
	if len(raw.Rules) > MaxRules {
		c.add(lineOf(top(doc), "rules"), "%d rules; at most %d", len(raw.Rules), MaxRules)
		return
	}
	ids := map[string]bool{}
	for i := range raw.Rules {
		c.rule(i, &raw.Rules[i], at(rnodes, i), byName, defAnswer, ids)
	}
	c.bypass(raw, doc, byName, defAnswer, ids)
	if len(p.Groups) > MaxGroups {
		c.add(0, "%d groups (counting one for each rule's client exceptions); at most %d", len(p.Groups), MaxGroups)
		return
	}
	for i, g := range p.Groups {
		var bit GroupSet
		bit.add(i)
		for _, pfx := range g.Addresses {
			old, _ := p.addrs.Get(pfx)
			p.addrs.Insert(pfx, old.or(bit))
		}
		for _, s := range g.DoHPaths {
			p.dohPaths[s] = p.dohPaths[s].or(bit)
		}
		for _, s := range g.ClientNames {
			p.names[s] = p.names[s].or(bit)
		}
		for _, s := range g.DeviceTags {
			p.tags[s] = p.tags[s].or(bit)
			p.hasFleet = true
		}
		for _, s := range g.Owners {
			p.owners[s] = p.owners[s].or(bit)
			p.hasFleet = true
		}
		for _, s := range g.Platforms {
			p.platforms[s] = p.platforms[s].or(bit)
			p.hasFleet = true
		}
		for _, m := range g.MACs {
			p.macs[m] = p.macs[m].or(bit)
			p.hasDevice = true
		}
		for _, o := range g.OUIs {
			p.ouis[o] = p.ouis[o].or(bit)
			p.hasDevice = true
		}
		for _, h := range g.Hostnames {
			p.hasDevice = true
			if !isGlob(h) {
				p.hosts[h] = p.hosts[h].or(bit)
				continue
			}
			if j := slices.IndexFunc(p.hostGlobs, func(x hostGlob) bool { return x.pattern == h }); j >= 0 {
				p.hostGlobs[j].set = p.hostGlobs[j].set.or(bit)
			} else {
				p.hostGlobs = append(p.hostGlobs, hostGlob{h, bit})
			}
		}
	}
	// A longest-prefix lookup must also answer for the shorter prefixes
	// that hold the address: fold each prefix's supernets into it.
	var folded []struct {
		pfx netip.Prefix
		set GroupSet
	}
	for pfx, set := range p.addrs.All() {
		for _, sup := range p.addrs.Supernets(pfx) {
			set = set.or(sup)
		}
		folded = append(folded, struct {
			pfx netip.Prefix
			set GroupSet
		}{pfx, set})
	}
	for _, f := range folded {
		p.addrs.Insert(f.pfx, f.set)
	}
	p.ruleNames.freeze()
	p.exceptNames.freeze()
}

func (c *compiler) rule(i int, rr *rawRule, n *yaml.Node, groups map[string]int, def Answer, ids map[string]bool) {
	p := c.p
	line := lineOf(n, "")
	r := &Rule{ID: rr.ID, Line: line, idx: len(p.Rules), Basis: rr.Basis, Hosted: rr.Hosted,
		Entities: rr.Entities, Lists: rr.Lists, Groups: rr.Groups, NamesFile: rr.NamesFile,
		Except: Exceptions{Names: rr.Except.Names, Groups: rr.Except.Groups, Clients: rr.Except.Clients}}
	if r.ID == "" {
		r.ID = "rule-" + strconv.Itoa(line)
	} else if !idRE().MatchString(r.ID) {
		c.add(lineOf(n, "id"), "rule id %q: use letters, digits, '-', '_', '.'", r.ID)
	}
	if ids[r.ID] {
		c.add(lineOf(n, "id"), "rule id %q is used twice", r.ID)
	}
	ids[r.ID] = true
	what := "rule " + r.ID
	switch rr.Action {
	case "block", "":
		r.Action = Block
		if rr.Action == "" {
			c.add(line, "%s has no action: say block or monitor", what)
		}
	case "monitor":
		r.Action = Monitor
	default:
		c.add(lineOf(n, "action"), "%s: action %q is not block or monitor", what, rr.Action)
	}
	for _, e := range rr.Entities {
		if e == "" {
			c.add(lineOf(n, "entities"), "%s: empty entity id", what)
		}
	}
	for _, j := range rr.Jurisdictions {
		j = strings.ToUpper(strings.TrimSpace(j))
		if len(j) != 2 || j[0] < 'A' || j[0] > 'Z' || j[1] < 'A' || j[1] > 'Z' {
			c.add(lineOf(n, "jurisdictions"), "%s: jurisdiction %q is not an ISO 3166 alpha-2 code", what, j)
			continue
		}
		r.Jurisdictions = append(r.Jurisdictions, j)
	}
	r.catalogAny = len(r.Entities)+len(r.Lists)+len(r.Jurisdictions) > 0
	for _, nm := range rr.Names {
		key, ok := normName(nm)
		if !ok {
			c.add(lineOf(n, "names"), "%s: %q is not a domain name", what, nm)
			continue
		}
		r.Names = append(r.Names, key)
		c.addName(p.ruleNames, []byte(key), r.idx)
		r.NameCount++
	}
	c.withOwnerServices(r)
	if rr.NamesFile != "" {
		r.NameCount += c.namesFile(lineOf(n, "names_file"), what, rr.NamesFile, r.idx)
	}
	if !r.catalogAny && r.NameCount == 0 && rr.NamesFile == "" {
		c.add(line, "%s covers nothing: give entities, lists, jurisdictions, names or names_file", what)
	}
	for _, g := range rr.Groups {
		gi, ok := groups[g]
		if !ok {
			c.add(lineOf(n, "groups"), "%s: group %q is not defined", what, g)
			continue
		}
		r.groups.add(gi)
	}
	for _, g := range rr.Except.Groups {
		gi, ok := groups[g]
		if !ok {
			c.add(lineOf(n, "except.groups"), "%s: except group %q is not defined", what, g)
			continue
		}
		r.except.add(gi)
	}
	for _, nm := range rr.Except.Names {
		key, ok := normName(nm)
		if !ok {
			c.add(lineOf(n, "except.names"), "%s: except %q is not a domain name", what, nm)
			continue
		}
		c.addName(p.exceptNames, []byte(key), r.idx)
	}
	if len(rr.Except.Clients) > 0 {
		hg := &Group{Name: r.ID + "/except", Line: lineOf(n, "except.clients"), hidden: true}
		for _, cl := range rr.Except.Clients {
			if pfx, err := parsePrefix(cl); err == nil {
				hg.Addresses = append(hg.Addresses, pfx)
			} else if strings.ContainsAny(cl, ":/") || isNumericish(cl) {
				c.add(hg.Line, "%s: except client %v", what, err)
			} else {
				hg.ClientNames = append(hg.ClientNames, strings.ToLower(strings.TrimSuffix(cl, ".")))
			}
		}
		r.except.add(len(p.Groups))
		p.Groups = append(p.Groups, hg)
	}
	if rr.Effective != "" {
		t, err := parseTime(rr.Effective)
		if err != nil {
			c.add(lineOf(n, "effective"), "%s: effective: %v", what, err)
		}
		r.Effective = t
	}
	if rr.Except.Until != "" {
		t, err := parseTime(rr.Except.Until)
		switch {
		case err != nil:
			c.add(lineOf(n, "except.until"), "%s: except.until: %v", what, err)
		case len(rr.Except.Names)+len(rr.Except.Groups)+len(rr.Except.Clients) == 0:
			c.add(lineOf(n, "except.until"), "%s: except.until without names, groups or clients to except", what)
		}
		r.Except.Until = t
	}
	if rr.Warning != "" {
		d, err := parseDuration(rr.Warning)
		switch {
		case err != nil:
			c.add(lineOf(n, "warning"), "%s: warning: %v", what, err)
		case r.Effective.IsZero():
			c.add(lineOf(n, "warning"), "%s: a warning period needs an effective date", what)
		case r.Action != Block:
			c.add(lineOf(n, "warning"), "%s: a warning period is for block rules", what)
		}
		r.Warning = d
	}
	r.from = r.Effective.Add(-r.Warning)
	r.Answer = def
	if rr.Answer != "" || len(rr.BlockPage) > 0 {
		mode := rr.Answer
		if mode == "" {
			mode = "blockpage"
		}
		r.Answer = c.answer(lineOf(n, "answer"), mode, rr.BlockPage)
	}
	if r.Action == Monitor && rr.Answer != "" {
		c.add(lineOf(n, "answer"), "%s: a monitor rule answers normally; remove answer", what)
	}
	p.Rules = append(p.Rules, r)
}

func isNumericish(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func (c *compiler) answer(line int, mode string, page []string) Answer {
	var a Answer
	switch mode {
	case "nxdomain":
		a.Mode = NXDomain
	case "refused":
		a.Mode = Refused
	case "null":
		a.Mode = Null
	case "blockpage":
		a.Mode = BlockPage
	default:
		c.add(line, "answer %q is not nxdomain, refused, null or blockpage", mode)
		return a
	}
	if a.Mode != BlockPage && len(page) > 0 {
		c.add(line, "blockpage addresses are for answer: blockpage")
	}
	for _, s := range page {
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			c.add(line, "blockpage address %q: %v", s, err)
		case ip.Unmap().Is4() && !a.V4.IsValid():
			a.V4 = ip.Unmap()
		case ip.Is6() && !ip.Is4In6() && !a.V6.IsValid():
			a.V6 = ip
		default:
			c.add(line, "blockpage: one IPv4 and one IPv6 address at most")
		}
	}
	if a.Mode == BlockPage && !a.V4.IsValid() && !a.V6.IsValid() {
		c.add(line, "answer: blockpage needs a blockpage address")
	}
	return a
}

// addName adds rule to the rules of name in set.
func (c *compiler) addName(set *nameSet, name []byte, rule int) {
	set.add(name, func(old uint16, had bool) uint16 {
		var rs GroupSet
		if had {
			rs = c.p.nameRules[old]
		}
		rs.add(rule)
		return c.combo(rs)
	})
}

// combo is the index of a set of rules in p.nameRules.
func (c *compiler) combo(rs GroupSet) uint16 {
	if c.combos == nil {
		c.combos = map[GroupSet]uint16{}
	}
	if id, ok := c.combos[rs]; ok {
		return id
	}
	if len(c.p.nameRules) == 1<<16 {
		c.add(0, "more than %d different combinations of rules over names", 1<<16)
		return 0
	}
	id := uint16(len(c.p.nameRules))
	c.p.nameRules = append(c.p.nameRules, rs)
	c.combos[rs] = id
	return id
}

// namesFile reads one name per line: a bare name, or a hosts-file line
// ("0.0.0.0 name"), or an AdGuard "||name^" line; '#' and '!' start
// comments.
func (c *compiler) namesFile(line int, what, path string, rule int) int {
	if !filepath.IsAbs(path) && c.file != "" {
		path = filepath.Join(filepath.Dir(c.file), path)
	}
	open := c.opt.Open
	if open == nil {
		open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
	}
	f, err := open(path)
	if err != nil {
		c.add(line, "%s: names_file: %v", what, err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	n, lineNo, bad := 0, 0, 0
	var buf [domainset.MaxName + 1]byte
	for sc.Scan() {
		lineNo++
		s := namesLine(sc.Bytes())
		if len(s) == 0 {
			continue
		}
		key, ok := normBytes(buf[:0], s)
		if !ok {
			if bad++; bad <= 5 {
				c.add(line, "%s: %s:%d: %q is not a domain name", what, path, lineNo, s)
			}
			continue
		}
		if c.fileNames++; c.fileNames > MaxNames {
			c.add(line, "%s: names files hold more than %d names", what, MaxNames)
			return n
		}
		c.addName(c.p.ruleNames, key, rule)
		n++
	}
	if err := sc.Err(); err != nil {
		c.add(line, "%s: %s:%d: %v", what, path, lineNo+1, err)
	}
	return n
}

// namesLine extracts the name of a names-file line: a bare name, a hosts
// line ("0.0.0.0 name"), or an AdGuard line ("||name^"); '#' and '!' start
// comments.
func namesLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "#!"); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSpace(b)
	if i := bytes.IndexAny(b, " \t"); i >= 0 {
		b = bytes.TrimSpace(b[i:])
		if j := bytes.IndexAny(b, " \t"); j >= 0 {
			b = b[:j]
		}
	}
	b = bytes.TrimPrefix(b, []byte("||"))
	return bytes.TrimSuffix(b, []byte("^"))
}

// normBytes appends the canonical form of a name: lowercase, no trailing
// dot, hostname bytes only, no empty label.
func normBytes(dst, name []byte) ([]byte, bool) {
	name = bytes.TrimSuffix(name, []byte("."))
	if len(name) == 0 || len(name) > domainset.MaxName {
		return dst, false
	}
	prevDot := true
	for _, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '.':
			if prevDot {
				return dst, false
			}
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return dst, false
		}
		prevDot = c == '.'
		dst = append(dst, c)
	}
	return dst, !prevDot
}

func normName(s string) (string, bool) {
	var buf [domainset.MaxName + 1]byte
	b, ok := domainset.Normalize(buf[:0], strings.TrimSpace(s))
	if !ok || len(b) == 0 || bytes.ContainsAny(b, "*") {
		return "", false
	}
	return string(b), true
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseTime reads RFC 3339 date-times, and a bare date as midnight UTC.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time such as 2026-01-19T00:00:00Z", s)
}

// parseDuration reads Go durations plus days and weeks: "720h", "30d", "2w".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		v, err := strconv.ParseFloat(s[:n-1], 64)
		if err != nil || v < 0 || v > 3650 {
			return 0, fmt.Errorf("%q is not a duration such as 30d, 2w or 72h", s)
		}
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		return time.Duration(v * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 30d, 2w or 72h", s)
	}
	return d, nil
}

// Check verifies the policy's entity and list ids against a catalog.
func (p *Policy) Check(ix *catalog.Index) error {
	var probs catalog.Problems
	for _, r := range p.Rules {
		for _, e := range r.Entities {
			if ix.Entities[e] == nil {
				probs = append(probs, catalog.Problem{Pos: catalog.Pos{File: p.File, Line: r.Line},
					Msg: fmt.Sprintf("rule %s: entity %q is not in the catalog", r.ID, e)})
			}
		}
		for _, l := range r.Lists {
			if ix.Lists[l] == nil {
				probs = append(probs, catalog.Problem{Pos: catalog.Pos{File: p.File, Line: r.Line},
					Msg: fmt.Sprintf("rule %s: list %q is not in the catalog", r.ID, l)})
			}
		}
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

// NameCount is the number of distinct names the rules list.
func (p *Policy) NameCount() int { return p.ruleNames.Len() }
