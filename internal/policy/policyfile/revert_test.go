package policyfile

import (
	"errors"
	"strings"
	"testing"
)

// Versions of a policy, each one change after the one before.
const (
	v0 = `# the ban
groups:
  - name: staff
    addresses: [10.0.0.0/24]

rules:
  - id: tiktok
    action: block
    entities: bytedance
    effective: 2026-04-01
# end
`
	// change 1: a group added
	v1 = `# the ban
groups:
  - name: staff
    addresses: [10.0.0.0/24]
  - name: lab
    addresses: [10.1.0.0/24]

rules:
  - id: tiktok
    action: block
    entities: bytedance
    effective: 2026-04-01
# end
`
	// change 2: a rule appended
	v2 = `# the ban
groups:
  - name: staff
    addresses: [10.0.0.0/24]
  - name: lab
    addresses: [10.1.0.0/24]

rules:
  - id: tiktok
    action: block
    entities: bytedance
    effective: 2026-04-01
  - id: temu
    action: block
    entities: pdd
# end
`
)

func TestRevert(t *testing.T) {
	tests := []struct {
		name               string
		before, after, cur string
		want               string // "" for a conflict
	}{
		{"latest change", v1, v2, v2, v1},
		{"older change, later ones elsewhere", v0, v1, v2, strings.Replace(v2, "  - name: lab\n    addresses: [10.1.0.0/24]\n", "", 1)},
		{"the same lines changed again", strings.Replace(v0, "2026-04-01", "2026-03-01", 1), v0,
			strings.Replace(v0, "2026-04-01", "2026-05-01", 1), ""},
		{"a rule appended after the one reverted", v1, v2,
			strings.Replace(v2, "# end", "  - id: shein\n    action: monitor\n    entities: shein\n# end", 1),
			strings.Replace(v1, "# end", "  - id: shein\n    action: monitor\n    entities: shein\n# end", 1)},
		{"exceptions added to the rule reverted", v1, v2,
			strings.Replace(v2, "# end", "    except:\n      names: [help.temu.com]\n# end", 1), ""},
		{"a line inside the reverted rule changed", v1, v2, strings.Replace(v2, "entities: pdd", "entities: [pdd]", 1), ""},
		{"the change made again by hand", v0, v1, v1 + "# more\n", v0 + "# more\n"},
		{"a group appended after the one reverted", v0, v1,
			strings.Replace(v1, "    addresses: [10.1.0.0/24]\n", "    addresses: [10.1.0.0/24]\n  - name: ops\n    addresses: [10.2.0.0/24]\n", 1),
			strings.Replace(v0, "    addresses: [10.0.0.0/24]\n", "    addresses: [10.0.0.0/24]\n  - name: ops\n    addresses: [10.2.0.0/24]\n", 1)},
		{"two insertions at one place", v1, v0,
			strings.Replace(v0, "    addresses: [10.0.0.0/24]\n", "    addresses: [10.0.0.0/24]\n  - name: ops\n    addresses: [10.2.0.0/24]\n", 1), ""},
		{"a deletion reverted beside a later edit", v2, v1, strings.Replace(v1, "effective: 2026-04-01", "effective: 2026-06-01", 1),
			strings.Replace(v2, "effective: 2026-04-01", "effective: 2026-06-01", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Revert(tc.before, tc.after, tc.cur)
			if tc.want == "" {
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("Revert = %q, %v; want a conflict", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\ndiff from want:\n%s", got, Diff("p", tc.want, got))
			}
		})
	}
}
