package yamlconf

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

var (
	nodeType          = reflect.TypeOf(yaml.Node{})
	unmarshalerType   = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshalType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// walker checks a node tree against a Go type the way yaml.v3 decodes
// it. Untyped, it checks keys only (every load); typed, also each value
// against its type (only once yaml.v3 has refused the document).
type walker struct {
	file  string
	typed bool
	ps    Problems
	seen  map[visit]bool // alias targets walked, each once per type: no loops, no alias bombs
}

type visit struct {
	n *yaml.Node
	t reflect.Type
}

func (w *walker) add(n *yaml.Node, msg string) {
	w.ps = append(w.ps, Problem{File: w.file, Line: n.Line, Col: n.Column, Msg: msg})
}

// fail adds yaml.v3's error about the value n (of path) at n, or at the
// node of n's tree on the line the message names.
func (w *walker) fail(n *yaml.Node, path string, err error) {
	for _, p := range fromYAML(w.file, err) {
		at := n
		if p.Line != 0 && p.Line != n.Line {
			at = onLine(n, p.Line, 0)
		}
		if at != nil {
			p.Line, p.Col = at.Line, at.Column
		}
		if path != "" {
			p.Msg = path + ": " + p.Msg
		}
		w.ps = append(w.ps, p)
	}
}

// onLine is the first node of n's tree on line, or nil.
func onLine(n *yaml.Node, line, depth int) *yaml.Node {
	if n.Line == line {
		return n
	}
	if depth > 100 {
		return nil
	}
	for _, c := range n.Content {
		if m := onLine(c, line, depth+1); m != nil {
			return m
		}
	}
	return nil
}

// mergeDecodeErrors keeps those of yaml.v3's problems that the walk did
// not explain, with the line yaml.v3 gives.
func (w *walker) mergeDecodeErrors(ps Problems) {
	lines := map[int]bool{}
	for _, p := range w.ps {
		lines[p.Line] = true
	}
	for _, p := range ps {
		if !lines[p.Line] {
			w.ps = append(w.ps, p)
		}
	}
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		k := visit{n.Alias, t}
		if w.seen[k] {
			return
		}
		if w.seen == nil {
			w.seen = map[visit]bool{}
		}
		w.seen[k] = true
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 1 {
			w.walk(n.Content[0], t, path)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // a yaml.Node takes anything; null is every type's zero
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// The type reads its value itself; a mapping read into a struct
		// (catalog.DNSFact) has its keys checked all the same.
		if w.typed {
			if err := reflect.New(t).Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
				w.fail(n, path, err)
				return
			}
		}
		if t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode {
			w.mapping(n, t, path)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.MappingNode && !reflect.PointerTo(t).Implements(textUnmarshalType) {
			w.mapping(n, t, path)
			return
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			w.pairs(n, path, func(k, v *yaml.Node, name string) { w.walk(v, t.Elem(), join(path, name)) })
			return
		}
	case reflect.Interface:
		return
	}
	if w.typed {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n, path, err)
		}
	}
}

// pairs calls f for each key and value of the mapping n, merged ones
// (<<: *base) included.
func (w *walker) pairs(n *yaml.Node, path string, f func(k, v *yaml.Node, name string)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			w.merge(v, path, f)
			continue
		}
		name, ok := keyName(k)
		if !ok {
			if err := k.Decode(new(string)); w.typed && err != nil {
				w.fail(k, path, err)
			}
			continue
		}
		f(k, v, name)
	}
}

func (w *walker) merge(v *yaml.Node, path string, f func(k, v *yaml.Node, name string)) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		k := visit{v.Alias, nil}
		if w.seen[k] {
			return
		}
		if w.seen == nil {
			w.seen = map[visit]bool{}
		}
		w.seen[k] = true
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		w.pairs(v, path, f)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c.Kind == yaml.AliasNode || c.Kind == yaml.MappingNode {
				w.merge(c, path, f)
			}
		}
	}
}

// keyName is the string yaml.v3 reads a mapping key as; false for a
// key it skips (null) or refuses (not a scalar).
func keyName(k *yaml.Node) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
		return "", false
	}
	return k.Value, true
}

// mapping checks the keys of n against the fields of the struct t.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	fs := fieldsOf(t)
	var first map[string]*yaml.Node
	direct := map[*yaml.Node]bool{}
	if w.typed {
		first = map[string]*yaml.Node{}
		for i := 0; i < len(n.Content); i += 2 {
			direct[n.Content[i]] = true
		}
	}
	w.pairs(n, path, func(k, v *yaml.Node, name string) {
		ft, ok := fs.byName[name]
		if !ok && fs.inline != nil {
			ft, ok = fs.inline, true
		}
		if !ok {
			w.add(k, fmt.Sprintf("unknown key %q %s; allowed: %s", name, where(path), fs.allowed))
			return
		}
		if w.typed && direct[k] {
			if p := first[name]; p != nil {
				w.add(k, fmt.Sprintf("key %q %s is already set at line %d", name, where(path), p.Line))
				return
			}
			first[name] = k
		}
		w.walk(v, ft, join(path, name))
	})
}

func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fields are the keys a struct takes, as yaml.v3 reads its tags.
type fields struct {
	byName  map[string]reflect.Type
	inline  reflect.Type // value type of an ",inline" map: any key
	allowed string       // the keys, sorted, for messages
}

var fieldCache sync.Map // reflect.Type → *fields

func fieldsOf(t reflect.Type) *fields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*fields)
	}
	fs := &fields{byName: map[string]reflect.Type{}}
	collect(t, fs, 0)
	names := make([]string, 0, len(fs.byName))
	for k := range fs.byName {
		names = append(names, k)
	}
	sort.Strings(names)
	fs.allowed = strings.Join(names, ", ")
	if fs.allowed == "" {
		fs.allowed = "none"
	}
	fieldCache.Store(t, fs)
	return fs
}

func collect(t reflect.Type, fs *fields, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue // unexported
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Map:
				fs.inline = ft.Elem()
			case ft.Kind() == reflect.Struct && depth < 10:
				collect(ft, fs, depth+1)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.byName[name] = f.Type
	}
}
