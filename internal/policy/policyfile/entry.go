package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The forms that edit or delete an existing group or rule work as the
// add forms do: the file is read as yaml.Node only to find where the
// item is, and only the item's lines are replaced (the item re-encoded
// from its node, with the form's keys changed and every other key,
// comment and style of the item kept) or removed. The rest of the file
// stays byte for byte.

// ErrNotFound is an edit of a group or rule the policy does not hold.
var ErrNotFound = errors.New("not in the policy")

// Entries are the groups and rules of a policy as the forms show them.
type Entries struct {
	Groups []Group
	Rules  []Rule
}

// List reads the groups and rules of src for the edit forms. A list
// written as one value reads as a list of one; keys the forms do not
// show are left out here and kept by an edit; an item that is not a
// mapping of the expected types is skipped (it is edited as text).
func List(src []byte) (Entries, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Entries{}, fmt.Errorf("the policy is not valid YAML: %w", err)
	}
	var e Entries
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return e, nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		val := top.Content[i+1]
		if val.Kind != yaml.SequenceNode {
			continue
		}
		for _, it := range val.Content {
			if it.Kind != yaml.MappingNode {
				continue
			}
			switch top.Content[i].Value {
			case "groups":
				g := Group{Name: scalar(it, "name"), Addresses: list(it, "addresses"), ClientNames: list(it, "client_names"),
					MACs: list(it, "macs"), Hostnames: list(it, "hostnames")}
				if g.Name != "" {
					e.Groups = append(e.Groups, g)
				}
			case "rules":
				r := Rule{ID: scalar(it, "id"), Action: scalar(it, "action"), Entities: list(it, "entities"), Lists: list(it, "lists"),
					Jurisdictions: list(it, "jurisdictions"), Names: list(it, "names"), Groups: list(it, "groups"),
					Basis: scalar(it, "basis"), Effective: scalar(it, "effective"), Warning: scalar(it, "warning")}
				if ex := get(it, "except"); ex != nil && ex.Kind == yaml.MappingNode {
					r.Except = &Except{Names: list(ex, "names"), Groups: list(ex, "groups"), Clients: list(ex, "clients"), Until: scalar(ex, "until")}
				}
				if r.ID != "" {
					e.Rules = append(e.Rules, r)
				}
			}
		}
	}
	return e, nil
}

// EditGroup sets the form's keys (name, addresses, client_names, macs,
// hostnames) of the group named name; an empty list removes its key.
func EditGroup(src []byte, name string, g Group) ([]byte, error) {
	if g.Name == "" {
		return nil, errors.New("a group needs a name")
	}
	return editItem(src, "groups", "name", name, func(m *yaml.Node) {
		setScalar(m, "name", g.Name)
		setList(m, "addresses", g.Addresses)
		setList(m, "client_names", g.ClientNames)
		setList(m, "macs", g.MACs)
		setList(m, "hostnames", g.Hostnames)
	})
}

// DeleteGroup removes the group named name, its lines and nothing else:
// comments above and below it stay.
func DeleteGroup(src []byte, name string) ([]byte, error) {
	return editItem(src, "groups", "name", name, nil)
}

// EditRule sets the form's keys of the rule id; an empty value removes
// its key. Exceptions with no names, groups or clients are removed
// whole, their until with them.
func EditRule(src []byte, id string, r Rule) ([]byte, error) {
	if r.ID == "" {
		return nil, errors.New("a rule needs an id")
	}
	return editItem(src, "rules", "id", id, func(m *yaml.Node) {
		setScalar(m, "id", r.ID)
		setScalar(m, "action", r.Action)
		setList(m, "entities", r.Entities)
		setList(m, "lists", r.Lists)
		setList(m, "jurisdictions", r.Jurisdictions)
		setList(m, "names", r.Names)
		setList(m, "groups", r.Groups)
		setScalar(m, "basis", r.Basis)
		setScalar(m, "effective", r.Effective)
		setScalar(m, "warning", r.Warning)
		x := r.Except
		if x == nil || len(x.Names)+len(x.Groups)+len(x.Clients) == 0 {
			set(m, "except", nil)
			return
		}
		ex := get(m, "except")
		if ex == nil || ex.Kind != yaml.MappingNode {
			ex = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			set(m, "except", ex)
		}
		setList(ex, "names", x.Names)
		setList(ex, "groups", x.Groups)
		setList(ex, "clients", x.Clients)
		setScalar(ex, "until", x.Until)
	})
}

// DeleteRule removes the rule id.
func DeleteRule(src []byte, id string) ([]byte, error) {
	return editItem(src, "rules", "id", id, nil)
}

// editItem finds the one item of the top-level block sequence key whose
// field is want, and replaces its lines with the item as change leaves
// it, or removes them when change is nil.
func editItem(src []byte, key, field, want string, change func(*yaml.Node)) ([]byte, error) {
	what := strings.TrimSuffix(key, "s") + " " + want
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("the policy is not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	top := doc.Content[0]
	ki := -1
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == key {
			ki = i
		}
	}
	if ki < 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	seq := top.Content[ki+1]
	if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("line %d: %s is not a list of items; edit it as text", top.Content[ki].Line, key)
	}
	idx := -1
	for i, it := range seq.Content {
		if it.Kind == yaml.MappingNode && scalar(it, field) == want {
			if idx >= 0 {
				return nil, fmt.Errorf("lines %d and %d: two %s have %s %q; edit them as text", seq.Content[idx].Line, it.Line, key, field, want)
			}
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	it := seq.Content[idx]
	ls := strings.SplitAfter(string(src), "\n")
	start := it.Line // 1-based: the item's "- " line
	if lead := ls[start-1]; len(lead) < it.Column+1 || strings.TrimSpace(lead[:it.Column-1]) != "-" {
		return nil, fmt.Errorf("line %d: the %s does not start on its \"- \" line; edit it as text", it.Line, what)
	}
	// The item ends before the next item, or the next top-level key, or
	// the end of the file; comments and blank lines after its last line
	// stay where they are, with what follows.
	end := len(ls)
	if idx+1 < len(seq.Content) {
		end = seq.Content[idx+1].Line - 1
	} else if ki+2 < len(top.Content) {
		end = top.Content[ki+2].Line - 1
	}
	last := lastLine(it)
	for end > last && isBlankOrComment(ls[end-1]) {
		end--
	}
	if change == nil {
		return []byte(strings.Join(ls[:start-1], "") + strings.Join(ls[end:], "")), nil
	}
	// Comments above and after the item are outside its lines and stay
	// there; the node would write them again.
	it.HeadComment, it.FootComment = "", ""
	for n := it; len(n.Content) > 0; n = n.Content[len(n.Content)-1] {
		n.FootComment = ""
		if n.Kind == yaml.MappingNode {
			n.Content[len(n.Content)-2].FootComment = ""
		}
	}
	change(it)
	var ib bytes.Buffer
	enc := yaml.NewEncoder(&ib)
	enc.SetIndent(2)
	if err := enc.Encode(it); err != nil {
		return nil, err
	}
	enc.Close()
	text := indentItem(ib.Bytes(), it.Column-1)
	return []byte(strings.Join(ls[:start-1], "") + text + strings.Join(ls[end:], "")), nil
}

// lastLine is the last line a node or any node within it starts on.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// get is the value of key in the mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if v := get(m, key); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return v.Value
	}
	return ""
}

// list reads a key the policy takes as one value or a list of them.
func list(m *yaml.Node, key string) []string {
	v := get(m, key)
	switch {
	case v == nil:
		return nil
	case v.Kind == yaml.ScalarNode && v.Tag != "!!null" && v.Value != "":
		return []string{v.Value}
	case v.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range v.Content {
			if c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return nil
}

// set replaces the value of key in m, appends the key when m lacks it,
// and removes it when v is nil.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		if v == nil {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
		// the old value's line comment stays with the key
		if v.LineComment == "" {
			v.LineComment = m.Content[i+1].LineComment
		}
		m.Content[i+1] = v
		return
	}
	if v != nil {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
}

// setScalar sets key to s, leaving the node alone when it already says
// s (its quoting and comments kept), removing the key when s is empty.
func setScalar(m *yaml.Node, key, s string) {
	if s == "" {
		set(m, key, nil)
		return
	}
	if old := get(m, key); old != nil && old.Kind == yaml.ScalarNode && old.Value == s {
		return
	}
	set(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
}

// setList sets key to vs, leaving an equal value alone, keeping a block
// list a block list and one value written alone as it was written.
func setList(m *yaml.Node, key string, vs []string) {
	if len(vs) == 0 {
		set(m, key, nil)
		return
	}
	old := get(m, key)
	if old != nil && slices.Equal(list(m, key), vs) {
		return
	}
	if old != nil && old.Kind == yaml.ScalarNode && len(vs) == 1 {
		set(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: vs[0]})
		return
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	if old != nil && old.Kind == yaml.SequenceNode && old.Style&yaml.FlowStyle == 0 {
		seq.Style = 0
	}
	for _, v := range vs {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
	}
	set(m, key, seq)
}
