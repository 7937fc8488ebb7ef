package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync/atomic"
	"time"

	builtin "github.com/outflow-dev/outflow/catalog"
)

// The compiled catalog: the built-in text files, validated, their values
// canonical and every claim settled, written by GenerateCompiled into one
// versioned blob (catalog/catalog.bin, `go generate ./catalog/`) and
// embedded in the binary. Opening it decodes the few hundred sources,
// entities and lists into the structures the text path builds, the eager
// assets into one slab, and leaves the 35,000 generated prefixes where they
// lie: the longest-prefix table is searched in the embedded bytes
// (prefixtab.go) and a prefix's Asset is made when an address first hits
// its chunk. Strings are substrings of the blob: nothing is copied.
//
// Layout (integers little-endian):
//
//	magic (16 bytes) | version u32 | seven section lengths u32 |
//	stream | strings | prefix records | IPv4 ranges | IPv6 ranges |
//	IPv4 bucket index | IPv6 summary (prefixtab.go)
//
// The stream is unsigned varints; a string is its offset and length in the
// strings section; a date, file, source or entity is an index into its
// table. A prefix record is 12 bytes: value offset u32, line u32, group
// u16, value length u8, zero.
//
// Only the embedded bytes are ever decoded (no flag or file reaches this
// decoder), so it has no fuzz target; it still checks every bound and
// fails with an error, never a panic, and Open falls back to the text
// files when it fails.

// CompiledVersion is the layout's version. Changing the layout bumps it;
// a blob of another version is not read (Open parses the text instead,
// and the staleness test fails until the blob is generated again).
const CompiledVersion = 2

const compiledMagic = "outflow catalog\x00"

// GenerateCommand is what regenerates the embedded compiled catalog.
const GenerateCommand = "go generate ./catalog/"

const (
	prefixRec   = 12
	numSections = 7
	headerLen   = len(compiledMagic) + 4 + 4*numSections
)

// ErrStale is returned by VerifyBuiltin when the embedded compiled catalog
// does not match the embedded text files.
var ErrStale = errors.New("the compiled catalog (catalog/catalog.bin) does not match the catalog's text files: run `" + GenerateCommand + "`")

// GenerateCompiled validates the catalog text files of fsys (the layout of
// catalog/, named "catalog" in positions) and returns their compiled form.
// The same files give the same bytes.
func GenerateCompiled(fsys fs.FS) ([]byte, error) {
	raw, err := Load(Layer{Name: "catalog", FS: fsys})
	if err != nil {
		return nil, err
	}
	ix, err := Compile(raw, Options{})
	if err != nil {
		return nil, err
	}
	if err := ix.Check(); err != nil {
		return nil, err
	}
	return encodeIndex(ix)
}

// VerifyBuiltin compiles the embedded text files again and compares the
// result with the embedded compiled form: ErrStale when they differ.
func VerifyBuiltin() error {
	want, err := GenerateCompiled(builtin.FS)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, []byte(builtin.Compiled)) {
		return ErrStale
	}
	return nil
}

// encoder writes the stream and the string table.
type encoder struct {
	b     []byte
	tab   []byte
	strs  map[string]uint32
	dates map[string]uint64
	dlist []string
	files map[string]uint64
	flist []string
}

func (e *encoder) u(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) s(v string) {
	off, ok := e.strs[v]
	if !ok {
		off = uint32(len(e.tab))
		e.tab = append(e.tab, v...)
		e.strs[v] = off
	}
	e.u(uint64(off))
	e.u(uint64(len(v)))
}

func (e *encoder) ss(v []string) {
	e.u(uint64(len(v)))
	for _, x := range v {
		e.s(x)
	}
}

// date writes 0 for no date, else the date's index + 1.
func (e *encoder) date(d Date) {
	if d.IsZero() {
		e.u(0)
		return
	}
	i, ok := e.dates[d.Text]
	if !ok {
		i = uint64(len(e.dlist))
		e.dates[d.Text] = i
		e.dlist = append(e.dlist, d.Text)
	}
	e.u(i + 1)
}

func (e *encoder) pos(p Pos) {
	i, ok := e.files[p.File]
	if !ok {
		i = uint64(len(e.flist))
		e.files[p.File] = i
		e.flist = append(e.flist, p.File)
	}
	e.u(i)
	e.u(uint64(p.Line))
}

func encodeIndex(ix *Index) ([]byte, error) {
	e := &encoder{strs: map[string]uint32{}, dates: map[string]uint64{}, files: map[string]uint64{}}
	srcs := sortedSources(ix.Sources)
	srcIdx := map[*Source]uint64{}
	e.u(uint64(len(srcs)))
	for i, s := range srcs {
		srcIdx[s] = uint64(i)
		e.s(s.ID)
		e.s(s.Title)
		e.s(s.URL)
		e.date(s.Date)
		e.s(s.Licence)
		e.s(s.Note)
		e.pos(s.Pos)
	}
	ents := sortedEntities(ix.Entities)
	entIdx := map[*Entity]uint64{}
	e.u(uint64(len(ents)))
	for i, en := range ents {
		entIdx[en] = uint64(i)
		e.s(en.ID)
		e.s(en.Name)
		e.ss(en.Aka)
		e.s(en.Jurisdiction)
		e.s(en.Incorporated)
		e.u(uint64(len(en.Roles)))
		for _, r := range en.Roles {
			e.s(string(r))
		}
		e.u(uint64(len(en.Parents)))
		for _, p := range en.Parents {
			e.s(p.ID)
			e.u(math.Float64bits(p.Share))
			e.date(p.Since)
			e.date(p.Until)
			e.s(p.Source)
			e.date(p.AsOf)
			e.s(p.Note)
			e.s(string(p.Status))
		}
		e.s(en.Note)
		e.s(en.Source)
		e.date(en.AsOf)
		e.s(string(en.Status))
		e.pos(en.Pos)
	}
	lists := sortedLists(ix.Lists)
	e.u(uint64(len(lists)))
	for _, l := range lists {
		e.s(l.ID)
		e.s(l.Name)
		e.s(l.Issuer)
		e.s(l.Basis)
		e.s(l.URL)
		e.date(l.Date)
		e.s(l.Source)
		e.s(string(l.Status))
		e.s(l.Note)
		e.ss(l.Countries)
		e.u(uint64(len(l.Entries)))
		for _, en := range l.Entries {
			e.s(en.Entity)
			e.date(en.Added)
			e.s(en.Scope)
			e.s(en.Source)
			e.s(string(en.Status))
			e.s(en.Note)
			e.u(uint64(en.Line))
		}
		e.pos(l.Pos)
	}
	svcs := ix.DNSServiceList()
	e.u(uint64(len(svcs)))
	facts := func(fs []DNSFact) {
		e.u(uint64(len(fs)))
		for _, f := range fs {
			e.s(f.Value)
			e.s(f.Source)
			e.s(string(f.Status))
			e.s(f.Note)
			e.u(uint64(f.Line))
		}
	}
	for _, s := range svcs {
		e.s(s.ID)
		e.s(s.Name)
		e.s(s.Owner)
		e.s(string(s.Kind))
		e.ss(s.Protocols)
		facts(s.Names)
		facts(s.Addresses)
		e.ss(s.Endpoints)
		e.s(s.Source)
		e.date(s.AsOf)
		e.s(string(s.Status))
		e.s(s.Note)
		e.pos(s.Pos)
	}
	assets := ix.Assets()
	e.u(uint64(len(assets)))
	for _, a := range assets {
		e.u(entIdx[a.Entity])
		e.s(string(a.Kind))
		e.s(a.Value)
		e.s(string(a.Role))
		e.s(a.Name)
		e.u(srcIdx[a.Source])
		e.date(a.AsOf)
		e.s(string(a.Status))
		e.s(a.Note)
		e.pos(a.Pos)
	}
	// The generated prefixes: their shared fields as groups, then one
	// fixed record each.
	type groupKey struct {
		ent                                  *Entity
		source                               *Source
		role, name, asOf, status, note, file string
	}
	groups := map[groupKey]int{}
	var glist []*Asset
	var recs []byte
	for _, a := range ix.lazyAssets {
		k := groupKey{ent: a.Entity, role: string(a.Role), name: a.Name, asOf: a.AsOf.Text, status: string(a.Status), note: a.Note, file: a.Pos.File, source: a.Source}
		g, ok := groups[k]
		if !ok {
			g = len(glist)
			groups[k] = g
			glist = append(glist, a)
		}
		if g > math.MaxUint16 || len(a.Value) > math.MaxUint8 {
			return nil, fmt.Errorf("%s: too many kinds of generated prefix rows for the compiled form", a.Pos)
		}
		off := len(e.tab)
		e.tab = append(e.tab, a.Value...)
		recs = binary.LittleEndian.AppendUint32(recs, uint32(off))
		recs = binary.LittleEndian.AppendUint32(recs, uint32(a.Pos.Line))
		recs = binary.LittleEndian.AppendUint16(recs, uint16(g))
		recs = append(recs, byte(len(a.Value)), 0)
	}
	e.u(uint64(len(glist)))
	for _, a := range glist {
		e.u(entIdx[a.Entity])
		e.s(string(a.Role))
		e.s(a.Name)
		e.u(srcIdx[a.Source])
		e.date(a.AsOf)
		e.s(string(a.Status))
		e.s(a.Note)
		e.pos(Pos{File: a.Pos.File})
	}
	// Every prefix, the eager ones (value: index + 1) and the generated
	// ones (lazyBit | record), flattened into ranges per family.
	var p4, p6 []prefixVal
	for p, v := range ix.prefixes.All() {
		if v&lazyBit == 0 {
			v++
		}
		if p.Addr().Is4() {
			p4 = append(p4, prefixVal{p, v})
		} else {
			p6 = append(p6, prefixVal{p, v})
		}
	}
	s4, v4 := buildRanges(p4)
	s6, v6 := buildRanges(p6)
	rt := rangeTab(s4, v4, s6, v6)

	// The dates and files come first in the stream: everything cites them.
	body := e.b
	e.b = nil
	e.u(uint64(len(e.flist)))
	for _, f := range e.flist {
		e.s(f)
	}
	e.u(uint64(len(e.dlist)))
	for _, d := range e.dlist {
		e.s(d)
	}
	stream := append(e.b, body...)

	out := []byte(compiledMagic)
	out = binary.LittleEndian.AppendUint32(out, CompiledVersion)
	for _, sec := range [][]byte{stream, e.tab, recs, rt.v4, rt.v6, rt.i4, rt.i6} {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(sec)))
	}
	for _, sec := range [][]byte{stream, e.tab, recs, rt.v4, rt.v6, rt.i4, rt.i6} {
		out = append(out, sec...)
	}
	return out, nil
}

// errCorrupt is what any inconsistency of the blob decodes to.
var errCorrupt = errors.New("compiled catalog: corrupt")

// reader decodes the stream; the first error sticks and every read after
// it returns zero values.
type reader struct {
	s, tab string
	i      int
	err    error
	files  []string
	dates  []Date
}

func (r *reader) u() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.i >= len(r.s) {
			r.err = errCorrupt
			return 0
		}
		c := r.s[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.err = errCorrupt
	return 0
}

// n reads a count, bounded by what is left of the stream (every item
// takes at least one byte), so that a corrupt count allocates nothing.
func (r *reader) n() int {
	v := r.u()
	if v > uint64(len(r.s)-r.i) {
		r.err = errCorrupt
		return 0
	}
	return int(v)
}

func (r *reader) s1() string {
	off, n := r.u(), r.u()
	if r.err != nil || off > uint64(len(r.tab)) || n > uint64(len(r.tab))-off {
		r.err = errCorrupt
		return ""
	}
	return r.tab[off : off+n]
}

func (r *reader) ss() []string {
	n := r.n()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.s1()
	}
	return out
}

func (r *reader) date() Date {
	i := r.u()
	if i == 0 {
		return Date{}
	}
	if i > uint64(len(r.dates)) {
		r.err = errCorrupt
		return Date{}
	}
	return r.dates[i-1]
}

func (r *reader) pos() Pos {
	f, line := r.u(), r.u()
	if f >= uint64(len(r.files)) || line > math.MaxInt32 {
		r.err = errCorrupt
		return Pos{}
	}
	return Pos{File: r.files[f], Line: int(line)}
}

func (r *reader) idx(n int) int {
	v := r.u()
	if v >= uint64(n) {
		r.err = errCorrupt
		return 0
	}
	return int(v)
}

// compiledPrefixes are the generated prefixes of the compiled catalog.
// Each prefix's Asset is made on its first match and kept, in blocks of
// prefixBlock pointers made as they are first needed. Peers spread over
// the whole address space match a small share of the prefixes (most are
// a /24 or smaller), so a sensor holds the Assets of those, not of their
// neighbours too (it held 4.5-6 MB when they were made 64 at a time).
type compiledPrefixes struct {
	tab    prefixTab
	recs   string
	str    string
	groups []Asset // the fields a group's rows share
	slots  slots
}

const prefixBlock = 64

func (c *compiledPrefixes) len() int { return len(c.recs) / prefixRec }

// asset is generated prefix i, made on first use; nil for an index or
// record out of bounds (a corrupt blob).
func (c *compiledPrefixes) asset(i uint32) *Asset {
	if int(i) >= c.len() {
		return nil
	}
	return c.slots.get(i, c.make)
}

// slots hold Assets made on first use, in blocks of prefixBlock pointers
// made as they are first needed. Readers on several goroutines may make
// the same Asset at once; all of them return the one stored first.
type slots []atomic.Pointer[[prefixBlock]atomic.Pointer[Asset]]

func newSlots(n int) slots { return make(slots, (n+prefixBlock-1)/prefixBlock) }

// get is Asset i, made by mk if it is not yet; i must be below the n the
// slots were made for.
func (s slots) get(i uint32, mk func(int) *Asset) *Asset {
	bp := &s[i/prefixBlock]
	b := bp.Load()
	if b == nil {
		b = new([prefixBlock]atomic.Pointer[Asset])
		if !bp.CompareAndSwap(nil, b) {
			b = bp.Load()
		}
	}
	p := &b[i%prefixBlock]
	if a := p.Load(); a != nil {
		return a
	}
	a := mk(int(i))
	if a == nil {
		return nil
	}
	if !p.CompareAndSwap(nil, a) {
		a = p.Load()
	}
	return a
}

// builtAssets are the assets of the compiled catalog but its generated
// prefixes. Opening it reads and checks every record but makes no Asset:
// making them all was a megabyte of new memory and 3-4 ms of a short
// command's start-up (cold pages cost 7-12 us each where it was
// measured), while a lookup or a scan returns a few of them. Each is made from its
// record on first use (asset) and kept.
type builtAssets struct {
	n     int
	offs  []uint32 // where each record starts in r.s
	r     reader   // its err is never set again: every record was read once
	ents  []Entity
	srcs  []Source
	slots slots
}

func (b *builtAssets) asset(i uint32) *Asset { return b.slots.get(i, b.make) }

// make builds asset i from its record, read when the catalog was opened.
func (b *builtAssets) make(i int) *Asset {
	r := b.r // a copy: readers on other goroutines use theirs
	r.i = int(b.offs[i])
	a := new(Asset)
	r.asset(a, b.ents, b.srcs)
	return a
}

// asset reads one asset record into a.
func (r *reader) asset(a *Asset, ents []Entity, srcs []Source) {
	if len(ents) == 0 || len(srcs) == 0 {
		r.err = errCorrupt // an asset of no entity, or citing no source
		return
	}
	*a = Asset{Entity: &ents[r.idx(len(ents))], Kind: AssetKind(r.s1()), Value: r.s1(), Role: Role(r.s1()), Name: r.s1(),
		Source: &srcs[r.idx(len(srcs))], AsOf: r.date(), Status: Status(r.s1()), Note: r.s1(), Pos: r.pos()}
}

// make builds prefix i's Asset from its record and group.
func (c *compiledPrefixes) make(i int) *Asset {
	o := i * prefixRec
	off, line := le32(c.recs, o), le32(c.recs, o+4)
	g := uint16(c.recs[o+8]) | uint16(c.recs[o+9])<<8
	end := uint64(off) + uint64(c.recs[o+10])
	if int(g) >= len(c.groups) || end > uint64(len(c.str)) || c.groups[g].Entity == nil {
		return nil // corrupt: no match
	}
	a := new(Asset)
	*a = c.groups[g]
	a.Value = c.str[off:end]
	a.Pos.Line = int(line)
	return a
}

// openCompiled decodes a compiled catalog, resolving ownership at at.
func openCompiled(blob string, at time.Time) (*Index, error) {
	if len(blob) < headerLen || blob[:len(compiledMagic)] != compiledMagic {
		return nil, errCorrupt
	}
	if v := le32(blob, len(compiledMagic)); v != CompiledVersion {
		return nil, fmt.Errorf("compiled catalog: version %d, this binary reads %d", v, CompiledVersion)
	}
	var secs [numSections]string
	rest := blob[headerLen:]
	for i := range secs {
		n := int(le32(blob, len(compiledMagic)+4+4*i))
		if n < 0 || n > len(rest) {
			return nil, errCorrupt
		}
		secs[i], rest = rest[:n], rest[n:]
	}
	if len(rest) != 0 || len(secs[2])%prefixRec != 0 || len(secs[3])%rec4 != 0 || len(secs[4])%rec6 != 0 {
		return nil, errCorrupt
	}
	r := &reader{s: secs[0], tab: secs[1]}
	r.files = make([]string, r.n())
	for i := range r.files {
		r.files[i] = r.s1()
	}
	r.dates = make([]Date, r.n())
	for i := range r.dates {
		d, err := ParseDate(r.s1())
		if err != nil {
			return nil, errCorrupt
		}
		r.dates[i] = d
	}

	srcs := make([]Source, r.n())
	sources := make(map[string]*Source, len(srcs))
	for i := range srcs {
		s := &srcs[i]
		*s = Source{ID: r.s1(), Title: r.s1(), URL: r.s1(), Date: r.date(), Licence: r.s1(), Note: r.s1(), Pos: r.pos()}
		sources[s.ID] = s
	}
	ents := make([]Entity, r.n())
	entities := make(map[string]*Entity, len(ents))
	for i := range ents {
		en := &ents[i]
		en.ID, en.Name, en.Aka, en.Jurisdiction, en.Incorporated = r.s1(), r.s1(), r.ss(), r.s1(), r.s1()
		if n := r.n(); n > 0 {
			en.Roles = make([]Role, n)
			for j := range en.Roles {
				en.Roles[j] = Role(r.s1())
			}
		}
		if n := r.n(); n > 0 {
			en.Parents = make([]ParentLink, n)
			for j := range en.Parents {
				en.Parents[j] = ParentLink{ID: r.s1(), Share: math.Float64frombits(r.u()), Since: r.date(), Until: r.date(),
					Source: r.s1(), AsOf: r.date(), Note: r.s1(), Status: Status(r.s1()), Child: en.ID}
			}
		}
		en.Note, en.Source, en.AsOf, en.Status, en.Pos = r.s1(), r.s1(), r.date(), Status(r.s1()), r.pos()
		entities[en.ID] = en
	}
	lists := make([]List, r.n())
	listm := make(map[string]*List, len(lists))
	for i := range lists {
		l := &lists[i]
		*l = List{ID: r.s1(), Name: r.s1(), Issuer: r.s1(), Basis: r.s1(), URL: r.s1(), Date: r.date(), Source: r.s1(),
			Status: Status(r.s1()), Note: r.s1(), Countries: r.ss()}
		if n := r.n(); n > 0 {
			l.Entries = make([]ListEntry, n)
			for j := range l.Entries {
				l.Entries[j] = ListEntry{Entity: r.s1(), Added: r.date(), Scope: r.s1(), Source: r.s1(), Status: Status(r.s1()),
					Note: r.s1(), Line: int(r.u())}
			}
		}
		l.Pos = r.pos()
		listm[l.ID] = l
	}
	svcs := make([]DNSService, r.n())
	svcm := make(map[string]*DNSService, len(svcs))
	facts := func() []DNSFact {
		n := r.n()
		if n == 0 {
			return nil
		}
		fs := make([]DNSFact, n)
		for i := range fs {
			fs[i] = DNSFact{Value: r.s1(), Source: r.s1(), Status: Status(r.s1()), Note: r.s1(), Line: int(r.u())}
		}
		return fs
	}
	for i := range svcs {
		s := &svcs[i]
		*s = DNSService{ID: r.s1(), Name: r.s1(), Owner: r.s1(), Kind: DNSServiceKind(r.s1()), Protocols: r.ss(),
			Names: facts(), Addresses: facts(), Endpoints: r.ss(), Source: r.s1(), AsOf: r.date(), Status: Status(r.s1()),
			Note: r.s1(), Pos: r.pos()}
		svcm[s.ID] = s
	}
	if r.err != nil {
		return nil, r.err
	}

	// Every asset record read and checked, its start kept: the Assets
	// are made on first use (builtAssets).
	b := &builtAssets{n: r.n(), ents: ents, srcs: srcs}
	b.offs = make([]uint32, b.n)
	counts := map[AssetKind]int{}
	domainBytes := 0
	for i := range b.offs {
		b.offs[i] = uint32(r.i)
		var a Asset
		r.asset(&a, ents, srcs)
		counts[a.Kind]++
		if a.Kind == KindDomain {
			domainBytes += len(a.Value)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	// The matchers sized for what they will hold: no growing.
	ix := newIndex(at, sources, entities, listm, 0)
	ix.domains.Reserve(counts[KindDomain], domainBytes)
	ix.labels = make(map[string]uint32, counts[KindLabel])
	ix.asns = make(map[uint32]uint32, counts[KindASN])
	ix.certOrgs = make(map[string]uint32, counts[KindCertOrg])
	ix.apps = make(map[string]uint32, counts[KindAndroidApp]+counts[KindIOSApp])
	ix.sdks = make(map[string]uint32, counts[KindSDK])
	ix.programs = make(map[string]uint32, counts[KindProgram])
	ix.protocols = make(map[string]uint32, counts[KindProtocol])
	ix.ouis[2] = make(map[uint64]uint32, counts[KindOUI])
	// Each record read a second time for its kind and value, now that
	// the maps can be made at their size: cheaper than keeping the
	// first reading's 5,913 of them in new memory.
	kr := *r
	for i, off := range b.offs {
		kr.i = int(off)
		var a Asset
		kr.asset(&a, ents, srcs)
		if err := ix.insert(a.Kind, a.Value, uint32(i)); err != nil {
			return nil, fmt.Errorf("compiled catalog: %s: %w", a.Pos, err)
		}
	}
	cp := &compiledPrefixes{recs: secs[2], str: secs[1], tab: prefixTab{v4: readOnly(secs[3]), v6: readOnly(secs[4]), i4: readOnly(secs[5]), i6: readOnly(secs[6])}}
	cp.groups = make([]Asset, r.n())
	for i := range cp.groups {
		cp.groups[i] = Asset{Entity: &ents[r.idx(len(ents))], Kind: KindPrefix, Role: Role(r.s1()), Name: r.s1(),
			Source: &srcs[r.idx(len(srcs))], AsOf: r.date(), Status: Status(r.s1()), Note: r.s1(), Pos: r.pos()}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.i != len(r.s) {
		return nil, errCorrupt
	}
	// The prefix records and ranges are not walked here (that would touch
	// a megabyte that most commands never read): a record or range value
	// out of bounds is checked where it is used, and reads as no match.
	cp.slots = newSlots(cp.len())
	ix.compiled = cp
	b.r = *r
	b.slots = newSlots(b.n)
	ix.built = b
	ix.lazyDone.Store(true)

	ents2 := make([]*Entity, len(ents))
	for i := range ents {
		ents2[i] = &ents[i]
	}
	// ents is sorted by id, as Compile walks them.
	for _, e := range ents2 {
		if err := ix.resolveChain(e); err != nil {
			return nil, err
		}
	}
	ix.memberships(ents2)
	var probs Problems
	ix.compileDNSServices(&Raw{Sources: sources, Entities: entities, DNSServices: svcm}, func(pos Pos, f string, a ...any) {
		probs = append(probs, Problem{Pos: pos, Msg: fmt.Sprintf(f, a...)})
	})
	if len(probs) > 0 {
		return nil, probs
	}
	return ix, nil
}

// compiledAssets appends every generated prefix Asset of the compiled
// catalog to dst, making those not yet made.
func (c *compiledPrefixes) appendAll(dst []*Asset) []*Asset {
	for i := 0; i < c.len(); i++ {
		if a := c.asset(uint32(i)); a != nil {
			dst = append(dst, a)
		}
	}
	return dst
}
