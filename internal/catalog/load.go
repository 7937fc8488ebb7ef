package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unique"

	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/yamlconf"
)

// Problem is one thing wrong in a catalog file.
type Problem struct {
	Pos Pos
	Msg string
	Col int // column on Pos.Line where known (YAML files), else 0
}

func (p Problem) Error() string {
	if p.Pos.Line > 0 && p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", p.Pos.File, p.Pos.Line, p.Col, p.Msg)
	}
	if p.Pos.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Pos.File, p.Pos.Line, p.Msg)
	}
	return p.Pos.File + ": " + p.Msg
}

// Problems is every problem found in a load; it is returned as the error.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Layer is one directory tree of catalog files: the built-in one or an
// organisation's own.
type Layer struct {
	Name string // shown before file names in errors ("builtin", a directory)
	FS   fs.FS
}

// Raw is a loaded, not yet compiled, catalog.
type Raw struct {
	Sources  map[string]*Source
	Entities map[string]*Entity
	Lists    map[string]*List
	Assets   []*Asset
	// DNSServices are the resolvers and HTTP-DNS services (dns-services/ID.yaml).
	DNSServices map[string]*DNSService
	assetEnt    []string   // entity id of each asset, resolved in Compile
	lazy        []lazyFile // generated prefix tables, parsed on first address lookup
}

// lazyFile is a generated prefix table kept unparsed until an address is
// looked up: most commands (audit, catalog lookups of names, fleet) never
// need the tens of thousands of announced prefixes, and parsing them was
// most of a start-up.
type lazyFile struct {
	name string
	data []byte
}

// LazyTable is the file name of generated prefix tables (see asngen).
const LazyTable = "asn-prefixes.csv"

// MaxFileSize bounds one catalog file, so a hostile directory cannot make
// the loader read without end.
const MaxFileSize = 256 << 20

// Load reads the layers in order; later layers add to and override earlier
// ones. It returns every problem it finds, not only the first.
func Load(layers ...Layer) (*Raw, error) {
	r := &Raw{Sources: map[string]*Source{}, Entities: map[string]*Entity{}, Lists: map[string]*List{}}
	var probs Problems
	for _, l := range layers {
		probs = append(probs, r.loadLayer(l)...)
	}
	if len(probs) > 0 {
		return r, probs
	}
	return r, nil
}

func (r *Raw) loadLayer(l Layer) Problems {
	var probs Problems
	name := func(p string) string {
		if l.Name == "" {
			return p
		}
		return path.Join(l.Name, p)
	}
	files := map[string][]string{}
	err := fs.WalkDir(l.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, Problem{Pos: Pos{File: name(p)}, Msg: err.Error()})
			return nil
		}
		if d.IsDir() {
			return nil
		}
		dir := path.Dir(p)
		switch {
		case p == "sources.yaml" || strings.HasSuffix(p, "/sources.yaml"):
			files["sources"] = append(files["sources"], p)
		case path.Base(dir) == "entities" && isYAML(p):
			files["entities"] = append(files["entities"], p)
		case path.Base(dir) == "lists" && isYAML(p):
			files["lists"] = append(files["lists"], p)
		case path.Base(dir) == "assets" && strings.HasSuffix(p, ".csv"):
			files["assets"] = append(files["assets"], p)
		case path.Base(dir) == "dns-services" && isYAML(p):
			files["dns-services"] = append(files["dns-services"], p)
		}
		return nil
	})
	if err != nil {
		return append(probs, Problem{Pos: Pos{File: l.Name}, Msg: err.Error()})
	}
	read := func(p string) ([]byte, bool) {
		f, err := l.FS.Open(p)
		if err != nil {
			probs = append(probs, Problem{Pos: Pos{File: name(p)}, Msg: err.Error()})
			return nil, false
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
		if err != nil {
			probs = append(probs, Problem{Pos: Pos{File: name(p)}, Msg: err.Error()})
			return nil, false
		}
		if len(b) > MaxFileSize {
			probs = append(probs, Problem{Pos: Pos{File: name(p)}, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)})
			return nil, false
		}
		return b, true
	}
	// Sources first: entities, lists and assets cite them.
	for _, kind := range []string{"sources", "entities", "lists", "assets", "dns-services"} {
		sort.Strings(files[kind])
		for _, p := range files[kind] {
			b, ok := read(p)
			if !ok {
				continue
			}
			switch kind {
			case "sources":
				probs = append(probs, r.parseSources(name(p), b)...)
			case "entities":
				probs = append(probs, r.parseEntity(name(p), b)...)
			case "lists":
				probs = append(probs, r.parseList(name(p), b)...)
			case "dns-services":
				probs = append(probs, r.parseDNSService(name(p), b)...)
			case "assets":
				if path.Base(p) == LazyTable {
					r.lazy = append(r.lazy, lazyFile{name(p), b})
					continue
				}
				probs = append(probs, r.parseAssets(name(p), b)...)
			}
		}
	}
	return probs
}

func isYAML(p string) bool { return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") }

// decodeStrict decodes YAML into v with yamlconf, refusing unknown keys;
// problems carry the file, line and column. It also returns the document
// node for line look-ups.
func decodeStrict(file string, b []byte, v any) (*yaml.Node, Problems) {
	doc, ps := yamlconf.DecodeNode(file, b, v)
	if ps != nil {
		return nil, FromYAML(ps)
	}
	if doc == nil {
		return nil, Problems{{Pos: Pos{File: file}, Msg: "empty file"}}
	}
	return doc, nil
}

// FromYAML is yamlconf's problems as catalog problems.
func FromYAML(ps yamlconf.Problems) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		out[i] = Problem{Pos: Pos{File: p.File, Line: p.Line}, Col: p.Col, Msg: p.Msg}
	}
	return out
}

// seqLines returns the line of each item of the sequence under key in the
// document's top mapping.
func seqLines(doc *yaml.Node, key string) []int {
	if doc == nil || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			var ls []int
			for _, it := range m.Content[i+1].Content {
				ls = append(ls, it.Line)
			}
			return ls
		}
	}
	return nil
}

func (r *Raw) parseSources(file string, b []byte) Problems {
	var f struct {
		Sources []*Source `yaml:"sources"`
	}
	doc, probs := decodeStrict(file, b, &f)
	if probs != nil {
		return probs
	}
	lines := seqLines(doc, "sources")
	for i, s := range f.Sources {
		if s == nil {
			probs = append(probs, Problem{Pos: Pos{file, at(lines, i)}, Msg: "empty source entry"})
			continue
		}
		s.Pos = Pos{file, at(lines, i)}
		r.Sources[s.ID] = s
	}
	return probs
}

func at(ls []int, i int) int {
	if i < len(ls) {
		return ls[i]
	}
	return 0
}

func (r *Raw) parseEntity(file string, b []byte) Problems {
	e := new(Entity)
	if _, probs := decodeStrict(file, b, e); probs != nil {
		return probs
	}
	e.Pos = Pos{file, 1}
	r.Entities[e.ID] = e // a later layer replaces an entity whole
	return nil
}

func (r *Raw) parseList(file string, b []byte) Problems {
	l := new(List)
	doc, probs := decodeStrict(file, b, l)
	if probs != nil {
		return probs
	}
	l.Pos = Pos{file, 1}
	lines := seqLines(doc, "entries")
	for i := range l.Entries {
		l.Entries[i].Line = at(lines, i)
	}
	r.Lists[l.ID] = l
	return nil
}

// AssetColumns is the header every asset table starts with.
var AssetColumns = []string{"entity", "kind", "value", "role", "name", "source", "as_of", "status", "note"}

func (r *Raw) parseAssets(file string, b []byte) Problems {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return Problems{{Pos: Pos{File: file, Line: 1}, Msg: "no header: " + err.Error()}}
	}
	if strings.Join(head, ",") != strings.Join(AssetColumns, ",") {
		return Problems{{Pos: Pos{File: file, Line: 1}, Msg: "header must be " + strings.Join(AssetColumns, ",")}}
	}
	var probs Problems
	srcCache := map[string]*Source{}
	in := func(v string) string { return unique.Make(v).Value() } // one copy of each repeated field
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			probs = append(probs, Problem{Pos: Pos{file, line}, Msg: err.Error()})
			if len(probs) > 100 {
				return append(probs, Problem{Pos: Pos{File: file}, Msg: "too many problems, stopped"})
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(AssetColumns) {
			probs = append(probs, Problem{Pos: Pos{file, line}, Msg: fmt.Sprintf("%d fields, want %d", len(rec), len(AssetColumns))})
			continue
		}
		// Fields are substrings of the record's line: copy the value and
		// intern the rest, which repeat, so that the lines are not kept
		// (35,000 generated prefix rows: 3.5 MB).
		a := &Asset{
			Kind:   AssetKind(in(rec[1])),
			Value:  strings.Clone(strings.TrimSpace(rec[2])),
			Role:   Role(in(rec[3])),
			Name:   in(rec[4]),
			Status: Status(in(rec[7])),
			Note:   in(rec[8]),
			Pos:    Pos{file, line},
		}
		src, ok := srcCache[rec[5]]
		if !ok {
			src = r.Sources[rec[5]]
			if src == nil && rec[5] != "" {
				src = &Source{ID: in(rec[5])} // resolved and checked in Compile
			}
			srcCache[rec[5]] = src
		}
		a.Source = src
		if rec[6] != "" {
			d, err := ParseDate(in(rec[6]))
			if err != nil {
				probs = append(probs, Problem{Pos: a.Pos, Msg: "as_of: " + err.Error()})
			}
			a.AsOf = d
		}
		r.Assets = append(r.Assets, a)
		r.assetEnt = append(r.assetEnt, in(rec[0]))
	}
	return probs
}
