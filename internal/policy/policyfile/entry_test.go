package policyfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/policy"
)

const entries = `# the ban
groups:
  # about staff
  - name: staff # the office
    # before addresses
    addresses: [10.0.0.0/24]
    doh_paths: [/dns-query]
    # trailing in staff

  # about lab
  - name: lab
    addresses:
      - 10.1.0.0/24
# rules below
rules:
  - id: tiktok
    action: block
    entities: bytedance
    groups: staff
    hosted: true
    effective: 2026-04-01
    except:
      names: [help.tiktok.com]
      until: 2026-12-31
  - id: temu # shopping
    action: monitor
    entities: [pdd]
# trailing comment
`

func TestList(t *testing.T) {
	e, err := List([]byte(entries))
	if err != nil {
		t.Fatal(err)
	}
	want := Entries{
		Groups: []Group{{Name: "staff", Addresses: []string{"10.0.0.0/24"}}, {Name: "lab", Addresses: []string{"10.1.0.0/24"}}},
		Rules: []Rule{{ID: "tiktok", Action: "block", Entities: []string{"bytedance"}, Groups: []string{"staff"}, Effective: "2026-04-01",
			Except: &Except{Names: []string{"help.tiktok.com"}, Until: "2026-12-31"}},
			{ID: "temu", Action: "monitor", Entities: []string{"pdd"}}},
	}
	if d := cmp.Diff(want, e); d != "" {
		t.Fatalf("List (-want +got):\n%s", d)
	}
}

// TestEditAndDelete: each edit changes the item's lines only; the rest of
// the file, comments included, stays byte for byte, and so do the item's
// keys the forms do not show.
func TestEditAndDelete(t *testing.T) {
	tests := []struct {
		name string
		do   func([]byte) ([]byte, error)
		want string // entries with these replacements, old => new
	}{
		{"group renamed, address added", func(b []byte) ([]byte, error) {
			return EditGroup(b, "staff", Group{Name: "office", Addresses: []string{"10.0.0.0/24", "10.0.9.0/24"}, ClientNames: []string{"pc.example"},
				MACs: []string{"a4:c1:38"}, Hostnames: []string{"office-*"}})
		}, `  - name: staff # the office
    # before addresses
    addresses: [10.0.0.0/24]
    doh_paths: [/dns-query]
=>  - name: office # the office
    # before addresses
    addresses: [10.0.0.0/24, 10.0.9.0/24]
    doh_paths: [/dns-query]
    client_names: [pc.example]
    macs: ['a4:c1:38']
    hostnames: [office-*]
`},
		{"block list stays a block list", func(b []byte) ([]byte, error) {
			return EditGroup(b, "lab", Group{Name: "lab", Addresses: []string{"10.1.0.0/24", "10.2.0.0/24"}})
		}, `      - 10.1.0.0/24
=>      - 10.1.0.0/24
      - 10.2.0.0/24
`},
		{"group deleted", func(b []byte) ([]byte, error) { return DeleteGroup(b, "lab") }, `  - name: lab
    addresses:
      - 10.1.0.0/24
=>`},
		{"first group deleted", func(b []byte) ([]byte, error) { return DeleteGroup(b, "staff") }, `  - name: staff # the office
    # before addresses
    addresses: [10.0.0.0/24]
    doh_paths: [/dns-query]
=>`},
		{"deadline moved, the rest as written", func(b []byte) ([]byte, error) {
			return EditRule(b, "tiktok", Rule{ID: "tiktok", Action: "block", Entities: []string{"bytedance"}, Groups: []string{"staff"},
				Effective: "2026-06-01", Except: &Except{Names: []string{"help.tiktok.com"}, Until: "2026-12-31"}})
		}, `    effective: 2026-04-01
=>    effective: "2026-06-01"
`},
		{"exception edited", func(b []byte) ([]byte, error) {
			return EditRule(b, "tiktok", Rule{ID: "tiktok", Action: "block", Entities: []string{"bytedance"}, Groups: []string{"staff"},
				Effective: "2026-04-01", Except: &Except{Names: []string{"help.tiktok.com"}, Clients: []string{"10.0.0.7"}}})
		}, `      names: [help.tiktok.com]
      until: 2026-12-31
=>      names: [help.tiktok.com]
      clients: [10.0.0.7]
`},
		{"exceptions removed", func(b []byte) ([]byte, error) {
			return EditRule(b, "tiktok", Rule{ID: "tiktok", Action: "block", Entities: []string{"bytedance"}, Groups: []string{"staff"},
				Effective: "2026-04-01", Except: &Except{Until: "2026-12-31"}})
		}, `    except:
      names: [help.tiktok.com]
      until: 2026-12-31
=>`},
		{"last rule edited, exceptions added", func(b []byte) ([]byte, error) {
			return EditRule(b, "temu", Rule{ID: "temu", Action: "block", Entities: []string{"pdd"}, Basis: "Board: 2026-02",
				Except: &Except{Groups: []string{"lab"}}})
		}, `  - id: temu # shopping
    action: monitor
    entities: [pdd]
=>  - id: temu # shopping
    action: block
    entities: [pdd]
    basis: 'Board: 2026-02'
    except:
      groups: [lab]
`},
		{"last rule deleted", func(b []byte) ([]byte, error) { return DeleteRule(b, "temu") }, `  - id: temu # shopping
    action: monitor
    entities: [pdd]
=>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.do([]byte(entries))
			if err != nil {
				t.Fatal(err)
			}
			oldNew := strings.SplitN(tc.want, "=>", 2)
			if !strings.Contains(entries, oldNew[0]) {
				t.Fatalf("the test's old text is not in the file: %q", oldNew[0])
			}
			want := strings.Replace(entries, oldNew[0], oldNew[1], 1)
			if string(out) != want {
				t.Fatalf("got:\n%s\ndiff:\n%s", out, Diff("p", want, string(out)))
			}
			if _, err := policy.Parse("p.yaml", out); err != nil && !strings.Contains(err.Error(), "group") {
				t.Fatalf("the result does not parse: %v\n%s", err, out)
			}
		})
	}
}

func TestEditRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		do        func([]byte) ([]byte, error)
		want      string
	}{
		{"no such group", entries, func(b []byte) ([]byte, error) { return DeleteGroup(b, "nope") }, "not in the policy"},
		{"no such rule", entries, func(b []byte) ([]byte, error) { return EditRule(b, "nope", Rule{ID: "nope"}) }, "not in the policy"},
		{"no rules", "groups: []\n", func(b []byte) ([]byte, error) { return DeleteRule(b, "x") }, "not in the policy"},
		{"two of a name", "groups:\n  - name: a\n  - name: a\n", func(b []byte) ([]byte, error) { return DeleteGroup(b, "a") }, "two groups"},
		{"flow list", "groups: [{name: a}]\n", func(b []byte) ([]byte, error) { return DeleteGroup(b, "a") }, "edit it as text"},
		{"no name", entries, func(b []byte) ([]byte, error) { return EditGroup(b, "lab", Group{}) }, "needs a name"},
		{"broken", "groups: [\n", func(b []byte) ([]byte, error) { return DeleteGroup(b, "a") }, "not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.do([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want == "not in the policy" && !errors.Is(err, ErrNotFound) {
				t.Fatalf("%v is not ErrNotFound", err)
			}
		})
	}
}
