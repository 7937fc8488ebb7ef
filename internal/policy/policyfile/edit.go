package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Group is a group as the dashboard's form adds it.
type Group struct {
	Name        string   `yaml:"name"`
	Addresses   []string `yaml:"addresses,omitempty,flow"`
	ClientNames []string `yaml:"client_names,omitempty,flow"`
	MACs        []string `yaml:"macs,omitempty,flow"`      // whole MACs or vendor OUIs
	Hostnames   []string `yaml:"hostnames,omitempty,flow"` // DHCP hostnames, * and ? wildcards
}

// Except is a rule's exceptions as the form adds them.
type Except struct {
	Names   []string `yaml:"names,omitempty,flow"`
	Groups  []string `yaml:"groups,omitempty,flow"`
	Clients []string `yaml:"clients,omitempty,flow"`
	Until   string   `yaml:"until,omitempty"` // the exceptions end then
}

// Rule is a rule as the dashboard's form adds it.
type Rule struct {
	ID            string   `yaml:"id"`
	Action        string   `yaml:"action"`
	Entities      []string `yaml:"entities,omitempty,flow"`
	Lists         []string `yaml:"lists,omitempty,flow"`
	Jurisdictions []string `yaml:"jurisdictions,omitempty,flow"`
	Names         []string `yaml:"names,omitempty,flow"`
	Groups        []string `yaml:"groups,omitempty,flow"`
	Basis         string   `yaml:"basis,omitempty"`
	Effective     string   `yaml:"effective,omitempty"`
	Warning       string   `yaml:"warning,omitempty"`
	Except        *Except  `yaml:"except,omitempty"`
}

// AddGroup appends g to the groups of the policy src.
func AddGroup(src []byte, g Group) ([]byte, error) {
	if g.Name == "" {
		return nil, errors.New("a group needs a name")
	}
	return appendItem(src, "groups", g)
}

// AddRule appends r to the rules of the policy src.
func AddRule(src []byte, r Rule) ([]byte, error) {
	if r.Except != nil && len(r.Except.Names)+len(r.Except.Groups)+len(r.Except.Clients) == 0 {
		r.Except = nil
	}
	return appendItem(src, "rules", r)
}

// appendItem adds v as the last item of the block sequence under the top
// key, writing only new lines: the rest of the file, comments included,
// stays byte for byte. A missing key is added at the end of the file; a
// sequence written in flow style ([a, b]) or an empty one is rewritten
// as a block.
func appendItem(src []byte, key string, v any) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("the policy is not valid YAML: %w", err)
	}
	var ib bytes.Buffer
	enc := yaml.NewEncoder(&ib)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	enc.Close()
	item := ib.Bytes()
	if len(doc.Content) == 0 { // an empty file, or only comments
		return join(src, key+":\n"+indentItem(item, 2)), nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errors.New("the policy is not a mapping")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, val := top.Content[i], top.Content[i+1]
		if k.Value != key {
			continue
		}
		ls := strings.SplitAfter(string(src), "\n")
		if val.Kind != yaml.SequenceNode || val.Style&yaml.FlowStyle != 0 || len(val.Content) == 0 {
			// an untagged null or [] on the key's own line ("key:",
			// "key: ~", "key: []"), not one that goes on below it ("key:\n !")
			if (val.Kind == yaml.ScalarNode && val.Tag == "!!null" || val.Kind == yaml.SequenceNode && len(val.Content) == 0 && closedOnLine(ls[k.Line-1])) &&
				val.Line == k.Line && val.Style&yaml.TaggedStyle == 0 {
				// the line becomes the block's head
				head := ls[k.Line-1]
				indent := head[:len(head)-len(strings.TrimLeft(head, " "))]
				ls[k.Line-1] = indent + key + ":\n" + indentItem(item, len(indent)+2)
				return []byte(strings.Join(ls, "")), nil
			}
			return nil, fmt.Errorf("line %d: %s is not a list of items; edit it as text", k.Line, key)
		}
		// Insert after the last line of the sequence: before the next
		// top-level key, or at the end of the file.
		end := len(ls)
		if i+2 < len(top.Content) {
			end = top.Content[i+2].Line - 1
			// comments and blank lines before the next key stay with it
			for end > val.Content[len(val.Content)-1].Line && isBlankOrComment(ls[end-1]) {
				end--
			}
		} else {
			for end > val.Content[len(val.Content)-1].Line && isBlankOrComment(ls[end-1]) {
				end--
			}
		}
		text := indentItem(item, dashColumn(ls, val.Content[0])+2)
		if end > 0 && !strings.HasSuffix(ls[end-1], "\n") {
			ls[end-1] += "\n"
		}
		out := strings.Join(ls[:end], "") + text + strings.Join(ls[end:], "")
		return []byte(out), nil
	}
	return join(src, key+":\n"+indentItem(item, 2)), nil
}

// dashColumn is the column of the "-" that opens a sequence's first
// item: before the item on its line ("-   name: x" puts the item past
// the usual two columns), or alone on the line above it; two before the
// item's own column otherwise.
func dashColumn(ls []string, first *yaml.Node) int {
	col := first.Column - 1
	if l := first.Line - 1; l < len(ls) && col <= len(ls[l]) {
		if pre := ls[l][:col]; strings.HasPrefix(strings.TrimLeft(pre, " "), "-") {
			return len(pre) - len(strings.TrimLeft(pre, " "))
		}
		if l > 0 && strings.TrimSpace(ls[l-1]) == "-" {
			return len(ls[l-1]) - len(strings.TrimLeft(ls[l-1], " "))
		}
	}
	return max(col-2, 0)
}

// closedOnLine reports whether the empty flow sequence on a key's line
// ends on it ("key: []", "key: [ ] # c"), not on a line below ("key: [",
// then "]"), which the line's rewrite would leave behind.
func closedOnLine(l string) bool {
	i := strings.IndexByte(l, '[')
	if i < 0 {
		return false
	}
	rest := strings.TrimLeft(l[i+1:], " \t")
	if !strings.HasPrefix(rest, "]") {
		return false
	}
	rest = strings.TrimSpace(rest[1:])
	return rest == "" || strings.HasPrefix(rest, "#")
}

func isBlankOrComment(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || strings.HasPrefix(t, "#")
}

// join appends text to src on a line of its own.
func join(src []byte, text string) []byte {
	var b bytes.Buffer
	b.Write(src)
	if len(src) > 0 && !bytes.HasSuffix(src, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(text)
	return b.Bytes()
}

// indentItem turns a marshalled mapping into a sequence item whose keys
// sit at column col: "- " before the first line, spaces before the rest.
func indentItem(item []byte, col int) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(string(item), "\n"), "\n") {
		switch {
		case i == 0:
			b.WriteString(strings.Repeat(" ", col-2) + "- ")
		case l == "":
		default:
			b.WriteString(strings.Repeat(" ", col))
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
