package policyfile

import (
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/policy"
)

const base = `# the ban
groups:
  - name: staff
    addresses: [10.0.0.0/24]

# rules below
rules:
  - id: tiktok
    action: block
    entities: bytedance
    groups: staff
# trailing comment
`

func TestAddGroupAndRule(t *testing.T) {
	out, err := AddGroup([]byte(base), Group{Name: "lab", Addresses: []string{"192.0.2.0/24", "2001:db8::/32"}, ClientNames: []string{"lab.example"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = AddRule(out, Rule{ID: "temu", Action: "block", Entities: []string{"pdd"}, Groups: []string{"lab"},
		Basis: "Board: no Temu in the lab: really", Effective: "2026-09-01", Warning: "30d",
		Except: &Except{Names: []string{"help.temu.com"}, Until: "2026-12-31"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `# the ban
groups:
  - name: staff
    addresses: [10.0.0.0/24]
  - name: lab
    addresses: [192.0.2.0/24, '2001:db8::/32']
    client_names: [lab.example]

# rules below
rules:
  - id: tiktok
    action: block
    entities: bytedance
    groups: staff
  - id: temu
    action: block
    entities: [pdd]
    groups: [lab]
    basis: 'Board: no Temu in the lab: really'
    effective: "2026-09-01"
    warning: 30d
    except:
      names: [help.temu.com]
      until: "2026-12-31"
# trailing comment
`
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s\ndiff:\n%s", out, want, Diff("p", want, string(out)))
	}
	p, err := policy.Parse("p.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 2 || len(p.Rules) != 2 || p.Rules[1].Warning.Hours() != 720 || p.Rules[1].Except.Names[0] != "help.temu.com" || p.Rules[1].Except.Until.Year() != 2026 {
		t.Fatalf("parsed %+v %+v", p.Groups, p.Rules[1])
	}
}

func TestAddToMissingOrEmpty(t *testing.T) {
	for _, src := range []string{"", "# nothing yet\n", "allow_empty: true\ngroups: []\n", "allow_empty: true\ngroups:\n", "allow_empty: true"} {
		out, err := AddGroup([]byte(src), Group{Name: "g", Addresses: []string{"10.0.0.1/32"}})
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		out, err = AddRule(out, Rule{ID: "r", Action: "block", Names: []string{"example.com"}, Groups: []string{"g"}})
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		p, err := policy.Parse("p.yaml", out)
		if err != nil {
			t.Fatalf("%q gave\n%s\n%v", src, out, err)
		}
		if len(p.Groups) != 1 || len(p.Rules) != 1 || p.Rules[0].Groups[0] != "g" {
			t.Fatalf("%q gave\n%s", src, out)
		}
		if !strings.HasPrefix(string(out), src) && src != "allow_empty: true\ngroups: []\n" && src != "allow_empty: true\ngroups:\n" {
			t.Fatalf("%q: the old text was not kept:\n%s", src, out)
		}
	}
	if _, err := AddGroup([]byte("groups: nope\n"), Group{Name: "g"}); err == nil {
		t.Fatal("a scalar groups was extended")
	}
	if _, err := AddGroup([]byte("groups: [\n"), Group{Name: "g"}); err == nil {
		t.Fatal("broken YAML was extended")
	}
}
