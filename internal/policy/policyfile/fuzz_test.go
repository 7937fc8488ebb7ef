package policyfile

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzEdit: a posted draft is untrusted. Adding a group or a rule to any
// text never panics, and when it succeeds on YAML the result is YAML
// again; the diff of any two texts never panics.
func FuzzEdit(f *testing.F) {
	f.Add(base, "lab")
	f.Add("", "g")
	f.Add("groups: []\n", "g")
	f.Add("allow_empty: true", "x: y")
	f.Add("rules:\n- id: a\n  action: block\n# c\n", "'quoted'")
	f.Add("groups: [\n", "g")
	f.Add("- a\n- b\n", "g")
	f.Fuzz(func(t *testing.T, src, name string) {
		if len(src) > 1<<16 {
			return
		}
		out, err := AddGroup([]byte(src), Group{Name: name, Addresses: []string{"10.0.0.0/8"}})
		if err == nil {
			var v any
			if yaml.Unmarshal(out, &v) != nil {
				t.Fatalf("AddGroup made invalid YAML of %q:\n%s", src, out)
			}
		}
		if out, err := AddRule([]byte(src), Rule{ID: name, Action: "block", Names: []string{"example.com"}}); err == nil {
			var v any
			if yaml.Unmarshal(out, &v) != nil {
				t.Fatalf("AddRule made invalid YAML of %q:\n%s", src, out)
			}
		}
		Diff("p", src, string(out))
	})
}
