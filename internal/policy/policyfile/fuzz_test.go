package policyfile

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzEdit: a posted draft is untrusted. Adding, editing or deleting a
// group or a rule of any text never panics, and when it succeeds on YAML
// (that yaml.Unmarshal takes: a mapping with a key twice is not) the
// result is YAML again; the diff of any two texts never panics.
func FuzzEdit(f *testing.F) {
	f.Add(base, "lab")
	f.Add("", "g")
	f.Add("groups: []\n", "g")
	f.Add("allow_empty: true", "x: y")
	f.Add("rules:\n- id: a\n  action: block\n# c\n", "'quoted'")
	f.Add("groups: [\n", "g")
	f.Add("- a\n- b\n", "g")
	f.Add(entries, "staff")
	f.Add(entries, "tiktok")
	f.Add("rules:\n  - id: r\n    except:\n      names: a\n# c\n", "r")
	f.Add("groups:\n  -\n    name: g\n", "g")
	f.Fuzz(func(t *testing.T, src, name string) {
		if len(src) > 1<<16 {
			return
		}
		var in any
		valid := yaml.Unmarshal([]byte(src), &in) == nil
		out, err := AddGroup([]byte(src), Group{Name: name, Addresses: []string{"10.0.0.0/8"}})
		if err == nil && valid {
			var v any
			if yaml.Unmarshal(out, &v) != nil {
				t.Fatalf("AddGroup made invalid YAML of %q:\n%s", src, out)
			}
		}
		if out, err := AddRule([]byte(src), Rule{ID: name, Action: "block", Names: []string{"example.com"}}); err == nil && valid {
			var v any
			if yaml.Unmarshal(out, &v) != nil {
				t.Fatalf("AddRule made invalid YAML of %q:\n%s", src, out)
			}
		}
		for _, edit := range []func() ([]byte, error){
			func() ([]byte, error) {
				return EditGroup([]byte(src), name, Group{Name: "g", Addresses: []string{"10.0.0.0/8"}})
			},
			func() ([]byte, error) { return DeleteGroup([]byte(src), name) },
			func() ([]byte, error) {
				return EditRule([]byte(src), name, Rule{ID: "r", Action: "block", Except: &Except{Names: []string{"a.example"}}})
			},
			func() ([]byte, error) { return DeleteRule([]byte(src), name) },
		} {
			if out, err := edit(); err == nil && valid {
				var v any
				if yaml.Unmarshal(out, &v) != nil {
					t.Fatalf("an edit made invalid YAML of %q:\n%s", src, out)
				}
			}
		}
		List([]byte(src))
		Revert(src, string(out), name)
		Revert(name, src, string(out))
		Diff("p", src, string(out))
	})
}
