package catalog

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"

	"github.com/outflow-dev/outflow/internal/catalog/domainset"
)

// validSlug is ^[a-z0-9]+(-[a-z0-9]+)*$, written out so that no regular
// expression is compiled when the package starts.
func validSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// Index is a compiled catalog: validated, with its matchers built. It is
// read-only and safe for concurrent use.
type Index struct {
	Sources  map[string]*Source
	Entities map[string]*Entity
	Lists    map[string]*List
	// assets are the assets held as made: all of them in an index
	// compiled from text; in one opened from the compiled catalog, only
	// those added afterwards (AddDomains), its own being made on first
	// use (built). An asset's id, the value of every matcher, counts
	// built's assets first.
	assets []*Asset
	built  *builtAssets
	At     time.Time // the date ownership links were resolved for
	// DNSServices are the resolvers and HTTP-DNS services by id.
	DNSServices map[string]*DNSService
	dns         dnsIndex

	domains  *domainset.Set
	labels   map[string]uint32
	asns     map[uint32]uint32
	prefixes bart.Table[uint32] // index into Assets, or lazyBit|index into lazyAssets

	lazy       []lazyFile
	lazyRowN   int // data rows of lazy, for AssetCount before they are parsed
	lazyDone   atomic.Bool
	lazyOnce   sync.Once
	lazyAssets []*Asset
	lazyErr    error
	certOrgs   map[string]uint32
	apps       map[string]uint32
	sdks       map[string]uint32
	programs   map[string]uint32
	protocols  map[string]uint32
	ouis       [3]map[uint64]uint32 // by prefix length 36, 28, 24 bits

	// compiled holds the generated prefixes of an index opened from the
	// compiled catalog (compiled.go); prefixes, lazy and lazyAssets are
	// then unused.
	compiled *compiledPrefixes
}

// newIndex is an index with empty matchers.
func newIndex(at time.Time, srcs map[string]*Source, ents map[string]*Entity, lists map[string]*List, names int) *Index {
	ix := &Index{
		Sources: srcs, Entities: ents, Lists: lists, At: at,
		domains:   domainset.New(names),
		labels:    map[string]uint32{},
		asns:      map[uint32]uint32{},
		certOrgs:  map[string]uint32{},
		apps:      map[string]uint32{},
		sdks:      map[string]uint32{},
		programs:  map[string]uint32{},
		protocols: map[string]uint32{},
	}
	for i := range ix.ouis {
		ix.ouis[i] = map[uint64]uint32{}
	}
	return ix
}

// Options tune Compile.
type Options struct {
	// At is the date ownership is resolved for; zero means now.
	At time.Time
	// SizeHint is the expected number of domain names, to size the table.
	SizeHint int
}

// Compile validates a loaded catalog and builds its matchers. Problems name
// the file and line of every bad fact; the index is nil when there is one.
func Compile(r *Raw, opt Options) (*Index, error) {
	if opt.At.IsZero() {
		opt.At = time.Now()
	}
	ix := newIndex(opt.At, r.Sources, r.Entities, r.Lists, max(opt.SizeHint, len(r.Assets)))
	ix.lazy, ix.lazyRowN = r.lazy, lazyRows(r.lazy)
	var probs Problems
	add := func(pos Pos, f string, a ...any) { probs = append(probs, Problem{Pos: pos, Msg: fmt.Sprintf(f, a...)}) }

	for _, s := range sortedSources(r.Sources) {
		if !validSlug(s.ID) {
			add(s.Pos, "source id %q is not a lowercase slug", s.ID)
		}
		if s.Title == "" {
			add(s.Pos, "source %s has no title", s.ID)
		}
		if s.Date.IsZero() {
			add(s.Pos, "source %s has no date", s.ID)
		}
	}
	checkSource := func(pos Pos, what, id string) {
		if id == "" {
			add(pos, "%s has no source", what)
		} else if r.Sources[id] == nil {
			add(pos, "%s cites unknown source %q", what, id)
		}
	}
	checkStatus := func(pos Pos, what string, s Status) {
		if s != "" && !validStatus[s] {
			add(pos, "%s: status %q is not one of verified, listed, corroborated, single-source, unverified", what, s)
		}
	}

	ents := sortedEntities(r.Entities)
	for _, e := range ents {
		what := "entity " + e.ID
		if !validSlug(e.ID) {
			add(e.Pos, "entity id %q is not a lowercase slug", e.ID)
		}
		if e.Name == "" {
			add(e.Pos, "%s has no name", what)
		}
		if !validCountry(e.Jurisdiction) {
			add(e.Pos, "%s: jurisdiction %q is not an ISO 3166 alpha-2 code", what, e.Jurisdiction)
		}
		if e.Incorporated != "" && !validCountry(e.Incorporated) {
			add(e.Pos, "%s: incorporated %q is not an ISO 3166 alpha-2 code", what, e.Incorporated)
		}
		for _, ro := range e.Roles {
			if !validRoles[ro] {
				add(e.Pos, "%s: unknown role %q", what, ro)
			}
		}
		checkSource(e.Pos, what, e.Source)
		if e.AsOf.IsZero() {
			add(e.Pos, "%s has no as_of date", what)
		}
		checkStatus(e.Pos, what, e.Status)
		for i := range e.Parents {
			p := &e.Parents[i]
			p.Child = e.ID
			if r.Entities[p.ID] == nil {
				add(e.Pos, "%s: parent %q is not in the catalog", what, p.ID)
			}
			if p.Share < 0 || p.Share > 100 {
				add(e.Pos, "%s: parent %s share %v is not a percentage", what, p.ID, p.Share)
			}
			checkSource(e.Pos, what+" parent "+p.ID, p.Source)
			if p.AsOf.IsZero() {
				add(e.Pos, "%s: parent %s has no as_of date", what, p.ID)
			}
			checkStatus(e.Pos, what+" parent "+p.ID, p.Status)
		}
	}
	for _, l := range sortedLists(r.Lists) {
		what := "list " + l.ID
		if !validSlug(l.ID) {
			add(l.Pos, "list id %q is not a lowercase slug", l.ID)
		}
		if l.Name == "" || l.Issuer == "" {
			add(l.Pos, "%s needs a name and an issuer", what)
		}
		if l.Date.IsZero() {
			add(l.Pos, "%s has no date", what)
		}
		checkSource(l.Pos, what, l.Source)
		checkStatus(l.Pos, what, l.Status)
		for _, c := range l.Countries {
			if !validCountry(c) {
				add(l.Pos, "%s: country %q is not an ISO 3166 alpha-2 code", what, c)
			}
		}
		for i := range l.Entries {
			en := &l.Entries[i]
			pos := Pos{l.Pos.File, en.Line}
			if r.Entities[en.Entity] == nil {
				add(pos, "%s: entity %q is not in the catalog", what, en.Entity)
			}
			if en.Added.IsZero() {
				add(pos, "%s: entry %s has no added date", what, en.Entity)
			}
			if en.Source != "" {
				checkSource(pos, what+" entry "+en.Entity, en.Source)
			}
			checkStatus(pos, what+" entry "+en.Entity, en.Status)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	for _, e := range ents {
		if err := ix.resolveChain(e); err != nil {
			add(e.Pos, "%v", err)
		}
	}
	ix.memberships(ents)

	type claimKey struct {
		kind  AssetKind
		value string
	}
	claims := make(map[claimKey]*Asset, len(r.Assets))
	for i, a := range r.Assets {
		a.Entity = r.Entities[r.assetEnt[i]]
		if a.Entity == nil {
			add(a.Pos, "entity %q is not in the catalog", r.assetEnt[i])
			continue
		}
		if a.Source == nil {
			add(a.Pos, "%s %s has no source", a.Kind, a.Value)
			continue
		}
		if s := r.Sources[a.Source.ID]; s == nil {
			add(a.Pos, "%s %s cites unknown source %q", a.Kind, a.Value, a.Source.ID)
			continue
		} else {
			a.Source = s
		}
		if a.AsOf.IsZero() {
			add(a.Pos, "%s %s has no as_of date", a.Kind, a.Value)
		}
		if a.Role != "" && !validRoles[a.Role] {
			add(a.Pos, "%s %s: unknown role %q", a.Kind, a.Value, a.Role)
		}
		if a.Status == "" {
			a.Status = Listed
		} else if !validStatus[a.Status] {
			add(a.Pos, "%s %s: unknown status %q", a.Kind, a.Value, a.Status)
		}
		key, err := canonical(a.Kind, a.Value)
		if err != nil {
			add(a.Pos, "%s %q: %v", a.Kind, a.Value, err)
			continue
		}
		a.Value = key
		if a.Role == "" {
			a.Role = defaultRole(a.Kind, a.Entity)
		}
		ck := claimKey{a.Kind, key}
		if prev := claims[ck]; prev != nil {
			switch {
			case prev.Entity == a.Entity:
				continue // the same fact from a second source: keep the first
			case prev.Pos.File != a.Pos.File && layerOf(prev.Pos) != layerOf(a.Pos):
				// a later layer overrides the built-in claim
			case strings.HasPrefix(prev.Note, "shared:") && strings.HasPrefix(a.Note, "shared:"):
				continue
			default:
				add(a.Pos, "%s %s is claimed by %s and by %s (%s); say why in a note starting \"shared:\" on both rows, or remove one",
					a.Kind, key, a.Entity.ID, prev.Entity.ID, prev.Pos)
				continue
			}
		}
		claims[ck] = a
	}
	// Index the winning claims in a stable order.
	for _, a := range r.Assets {
		if a.Entity == nil || a.Source == nil {
			continue
		}
		if claims[claimKey{a.Kind, a.Value}] != a {
			continue
		}
		if err := ix.insert(a.Kind, a.Value, ix.addAsset(a)); err != nil {
			add(a.Pos, "%s %q: %v", a.Kind, a.Value, err)
		}
	}
	ix.compileDNSServices(r, add)
	if len(probs) > 0 {
		return nil, probs
	}
	return ix, nil
}

const lazyBit = 1 << 31

// loadLazy parses the generated prefix tables and adds their prefixes,
// once, on the first address lookup. A prefix a user layer already claims
// (an eager row) keeps the user's claim.
func (ix *Index) loadLazy() {
	if len(ix.lazy) == 0 {
		ix.lazyDone.Store(true)
		return
	}
	var probs Problems
	r := &Raw{Sources: ix.Sources, Entities: ix.Entities}
	for _, f := range ix.lazy {
		probs = append(probs, r.parseAssets(f.name, f.data)...)
	}
	seen := make(map[netip.Prefix]*Asset, len(r.Assets))
	for i, a := range r.Assets {
		a.Entity = ix.Entities[r.assetEnt[i]]
		switch {
		case a.Entity == nil:
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("entity %q is not in the catalog", r.assetEnt[i])})
			continue
		case a.Kind != KindPrefix:
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("only prefix rows belong in %s, not %s", LazyTable, a.Kind)})
			continue
		case a.Source == nil || ix.Sources[a.Source.ID] == nil:
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("prefix %s cites an unknown source", a.Value)})
			continue
		case a.AsOf.IsZero():
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("prefix %s has no as_of date", a.Value)})
			continue
		}
		a.Source = ix.Sources[a.Source.ID]
		if a.Status == "" {
			a.Status = Listed
		}
		if a.Role == "" {
			a.Role = defaultRole(a.Kind, a.Entity)
		} else if !validRoles[a.Role] {
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("prefix %s: unknown role %q", a.Value, a.Role)})
			continue
		}
		p, err := netip.ParsePrefix(a.Value)
		if err != nil || p.Masked() != p {
			probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("prefix %q is not a network prefix", a.Value)})
			continue
		}
		if prev := seen[p]; prev != nil {
			if prev.Entity != a.Entity {
				probs = append(probs, Problem{Pos: a.Pos, Msg: fmt.Sprintf("prefix %s is claimed by %s and by %s (%s)", p, a.Entity.ID, prev.Entity.ID, prev.Pos)})
			}
			continue
		}
		seen[p] = a
		if _, taken := ix.prefixes.Get(p); taken {
			continue // an organisation's own row overrides the generated one
		}
		ix.prefixes.Insert(p, lazyBit|uint32(len(ix.lazyAssets)))
		ix.lazyAssets = append(ix.lazyAssets, a)
	}
	ix.lazy = nil // the tables' text (3 MB for the built-in one) is garbage now
	if len(probs) > 0 {
		ix.lazyErr = probs
	}
	ix.lazyDone.Store(true)
}

// Check parses what is parsed lazily and reports its problems: `outflow
// catalog check` and tests call it, so nothing is left unvalidated.
//
// An index opened from the compiled catalog has nothing to check: its
// prefixes were checked when it was generated, and VerifyBuiltin says
// whether it still matches the text files.
func (ix *Index) Check() error {
	ix.lazyOnce.Do(ix.loadLazy)
	return ix.lazyErr
}

// AssetCount is the number of assets, the lazily parsed prefixes included.
// It does not parse them: before they are parsed, their rows are counted.
func (ix *Index) AssetCount() int {
	if ix.compiled != nil {
		return ix.assetLen() + ix.compiled.len()
	}
	if ix.lazyDone.Load() {
		return ix.assetLen() + len(ix.lazyAssets)
	}
	return ix.assetLen() + ix.lazyRowN
}

// lazyRows counts the data rows of unparsed tables: lines that are neither
// the header nor comments.
func lazyRows(files []lazyFile) int {
	n := 0
	for _, f := range files {
		for rest := f.data; len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if len(line) > 0 && line[0] != '#' {
				n++
			}
		}
		n-- // the header
	}
	return n
}

// AllAssets is every asset, the lazily parsed prefixes included.
func (ix *Index) AllAssets() []*Asset {
	if ix.compiled != nil {
		return ix.compiled.appendAll(ix.appendAssets(make([]*Asset, 0, ix.assetLen()+ix.compiled.len())))
	}
	ix.lazyOnce.Do(ix.loadLazy)
	out := make([]*Asset, 0, ix.assetLen()+len(ix.lazyAssets))
	return append(ix.appendAssets(out), ix.lazyAssets...)
}

// Assets is every asset but the generated prefixes (AllAssets has those
// too), in id order. An index opened from the compiled catalog makes
// those not made yet.
func (ix *Index) Assets() []*Asset {
	return ix.appendAssets(make([]*Asset, 0, ix.assetLen()))
}

func (ix *Index) appendAssets(dst []*Asset) []*Asset {
	if b := ix.built; b != nil {
		for i := range b.n {
			dst = append(dst, b.asset(uint32(i)))
		}
	}
	return append(dst, ix.assets...)
}

// assetLen is the number of assets but the generated prefixes.
func (ix *Index) assetLen() int {
	n := len(ix.assets)
	if ix.built != nil {
		n += ix.built.n
	}
	return n
}

// asset is the asset of an id a matcher holds; nil for one out of range
// (only a corrupt compiled catalog has one).
func (ix *Index) asset(id uint32) *Asset {
	if b := ix.built; b != nil {
		if int(id) < b.n {
			return b.asset(id)
		}
		id -= uint32(b.n)
	}
	if int(id) < len(ix.assets) {
		return ix.assets[id]
	}
	return nil
}

// addAsset appends an asset made now and returns its id.
func (ix *Index) addAsset(a *Asset) uint32 {
	id := uint32(ix.assetLen())
	ix.assets = append(ix.assets, a)
	return id
}

// layerOf is the top directory of a position: layers are named apart.
func layerOf(p Pos) string {
	if i := strings.IndexByte(p.File, '/'); i >= 0 {
		return p.File[:i]
	}
	return ""
}

func defaultRole(k AssetKind, e *Entity) Role {
	switch k {
	case KindSDK:
		return RoleSDK
	case KindOUI:
		return RoleDevice
	case KindASN, KindPrefix:
		for _, r := range e.Roles {
			if r == RoleHost || r == RoleCarrier {
				return r
			}
		}
		return RoleService
	}
	return RoleService
}

func (ix *Index) resolveChain(e *Entity) error {
	seen := map[string]bool{}
	cur := e
	e.Chain = e.Chain[:0]
	for cur != nil {
		if seen[cur.ID] {
			return fmt.Errorf("entity %s: ownership cycle through %s", e.ID, cur.ID)
		}
		seen[cur.ID] = true
		e.Chain = append(e.Chain, cur)
		var next *Entity
		for _, p := range cur.Parents {
			if !p.Current(ix.At) {
				continue
			}
			if p.Controlling() {
				if next == nil {
					next = ix.Entities[p.ID]
				}
			} else {
				e.Minority = append(e.Minority, p)
			}
		}
		cur = next
	}
	if len(e.Chain) > 1 {
		parent := e.Chain[1]
		parent.Children = append(parent.Children, e)
	}
	return nil
}

func (ix *Index) memberships(ents []*Entity) {
	byEntity := map[string][]Membership{}
	var countryLists []*List
	for _, l := range sortedLists(ix.Lists) {
		for i := range l.Entries {
			en := &l.Entries[i]
			byEntity[en.Entity] = append(byEntity[en.Entity], Membership{List: l, Entry: en})
		}
		if len(l.Countries) > 0 {
			countryLists = append(countryLists, l)
		}
	}
	for _, e := range ents {
		for _, link := range e.Chain {
			for _, m := range byEntity[link.ID] {
				m.Entity = link
				e.Memberships = append(e.Memberships, m)
			}
		}
		// Jurisdiction lists apply to the ultimate parent's country.
		top := e.Chain[len(e.Chain)-1]
		for _, l := range countryLists {
			for _, c := range l.Countries {
				if c == top.Jurisdiction || c == e.Jurisdiction {
					e.Memberships = append(e.Memberships, Membership{List: l, Entity: top})
					break
				}
			}
		}
	}
}

func (ix *Index) insert(kind AssetKind, value string, id uint32) error {
	switch kind {
	case KindDomain:
		_, err := ix.domains.Add(value, id)
		return err
	case KindLabel:
		ix.labels[value] = id
	case KindASN:
		n, _ := strconv.ParseUint(strings.TrimPrefix(value, "AS"), 10, 32)
		ix.asns[uint32(n)] = id
	case KindPrefix:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return err
		}
		ix.prefixes.Insert(p, id)
	case KindCertOrg:
		ix.certOrgs[value] = id
	case KindAndroidApp, KindIOSApp:
		ix.apps[value] = id
	case KindSDK:
		ix.sdks[value] = id
	case KindProgram:
		ix.programs[value] = id
	case KindProtocol:
		ix.protocols[value] = id
	case KindOUI:
		v, bits, _ := parseOUI(value)
		ix.ouis[ouiSlot(bits)][v] = id
	}
	return nil
}

func ouiSlot(bits int) int {
	switch bits {
	case 36:
		return 0
	case 28:
		return 1
	}
	return 2
}

func sortedSources(m map[string]*Source) []*Source {
	out := make([]*Source, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func sortedEntities(m map[string]*Entity) []*Entity {
	out := make([]*Entity, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func sortedLists(m map[string]*List) []*List {
	out := make([]*List, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
