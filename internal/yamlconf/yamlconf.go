// Package yamlconf is outflow's one strict YAML decoder: configuration
// files (serve, resolve, sensor and its alerts), catalog files and the
// policy are all read through it, so that one mistake reads the same
// everywhere:
//
//	serve.yaml:2:1: unknown key "colour" at top level; allowed: auth, listen, secure_cookies, store, tls, trusted_proxies
//	p.yaml:4:5: unknown key "efective" in rules[0]; allowed: action, answer, ...
//	serve.yaml:4:16: auth.session_ttl: cannot unmarshal !!str `forever` into time.Duration
//
// yaml.v3 alone names an unknown key by its Go type and a line, and a
// value of the wrong type by a line only. Decode walks the document's
// nodes against the target's yaml tags first, so that each problem has a
// line and a column, an unknown key the keys its section allows, and all
// problems of a file come at once.
//
// It must never import another outflow package.
package yamlconf

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one mistake in a YAML file.
type Problem struct {
	File string
	Line int // 1-based; 0 when yaml.v3 does not say
	Col  int // 1-based; 0 when unknown (yaml.v3's syntax errors give a line only)
	Msg  string
}

func (p Problem) Error() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// Problems are every problem of a file, in the order of the file; the
// error Decode returns.
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

// Decode decodes b, read from name, into v (a pointer) over the values v
// already holds (its defaults). An empty document leaves v as it is. The
// error is Problems.
func Decode(name string, b []byte, v any) error {
	if _, ps := DecodeNode(name, b, v); len(ps) > 0 {
		return ps
	}
	return nil
}

// DecodeNode is Decode that also returns the document node, for callers
// that point at lines of their own (nil for an empty document), and its
// problems as Problems.
func DecodeNode(name string, b []byte, v any) (*yaml.Node, Problems) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fromYAML(name, err)
	}
	if doc.Kind == 0 {
		return nil, nil
	}
	t := reflect.TypeOf(v)
	w := walker{file: name}
	w.walk(&doc, t, "")
	err := doc.Decode(v)
	if err != nil {
		// Rare: walk again, checking each value against its type, so
		// that type errors get a column and a name too.
		w = walker{file: name, typed: true}
		w.walk(&doc, t, "")
		w.mergeDecodeErrors(fromYAML(name, err))
	}
	if len(w.ps) == 0 {
		return &doc, nil
	}
	sort.SliceStable(w.ps, func(i, j int) bool {
		a, b := w.ps[i], w.ps[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return &doc, w.ps
}

// fromYAML turns yaml.v3's errors ("yaml: line 3: ...") into problems
// with a line.
func fromYAML(file string, err error) Problems {
	var msgs []string
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	ps := make(Problems, 0, len(msgs))
	for _, m := range msgs {
		line, m := splitLine(m)
		ps = append(ps, Problem{File: file, Line: line, Msg: m})
	}
	return ps
}

// splitLine takes "yaml: " and "line N: " off a yaml.v3 message.
func splitLine(m string) (int, string) {
	m = strings.TrimPrefix(m, "yaml: ")
	rest, ok := strings.CutPrefix(m, "line ")
	if !ok {
		return 0, m
	}
	n := 0
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9' && n < 1<<30; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	if i == 0 || !strings.HasPrefix(rest[i:], ": ") {
		return 0, m
	}
	return n, rest[i+2:]
}
