package policy

import (
	"fmt"
	"strings"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// Quick is the policy of the quick start (`--block ID...`): block each
// target for every client with NXDOMAIN, now. A target is an entity id, a
// list id, an ISO 3166 country code (a jurisdiction), or a domain name.
func Quick(ix *catalog.Index, targets ...string) (*Policy, error) {
	p := newPolicy("--block")
	c := compiler{file: "--block", p: p}
	if len(targets) > MaxRules {
		return nil, fmt.Errorf("policy: --block: %d targets; at most %d", len(targets), MaxRules)
	}
	for _, t := range targets {
		t = strings.TrimSpace(t)
		r := &Rule{ID: "block-" + t, idx: len(p.Rules), Action: Block, Answer: Answer{Mode: NXDomain},
			Basis: "command line --block " + t}
		switch {
		case ix != nil && ix.Entities[t] != nil:
			r.Entities = []string{t}
		case ix != nil && ix.Lists[t] != nil:
			r.Lists = []string{t}
		case len(t) == 2 && strings.ToUpper(t) == t && t[0] >= 'A' && t[0] <= 'Z' && t[1] >= 'A' && t[1] <= 'Z':
			r.Jurisdictions = []string{t}
		case strings.Contains(t, "."):
			key, ok := normName(t)
			if !ok {
				return nil, fmt.Errorf("policy: --block %q: not a domain name", t)
			}
			r.Names = []string{key}
			r.NameCount = 1
			c.addName(p.ruleNames, []byte(key), r.idx)
		default:
			return nil, fmt.Errorf("policy: --block %q: no entity or list with that id in the catalog, and not a country code or a domain name (outflow catalog lists shows the lists)", t)
		}
		r.catalogAny = len(r.Entities)+len(r.Lists)+len(r.Jurisdictions) > 0
		p.Rules = append(p.Rules, r)
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	p.ruleNames.freeze()
	p.exceptNames.freeze()
	return p, nil
}
