package fleet

import (
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
)

// AliasKind is the catalog rule kind of a publisher matched to an
// entity's own name or one of its aliases (its `aka`), rather than to a
// `program` row: the rule reads "entity-name:Tencent".
const AliasKind catalog.AssetKind = "entity-name"

// publishers matches publishers by whole normalised name: the catalog's
// program rows and every entity's name and aliases, with case, punctuation
// and legal-form suffixes folded (NormPublisher). A name two entities
// share is left out: a publisher is attributed to one owner or to none.
type publishers map[string]*catalog.Asset

func newPublishers(ix *catalog.Index) publishers {
	p := publishers{}
	ambiguous := map[string]bool{}
	add := func(name string, a *catalog.Asset) {
		k := NormPublisher(name)
		if k == "" || ambiguous[k] {
			return
		}
		if old, ok := p[k]; ok && old.Entity != a.Entity {
			delete(p, k)
			ambiguous[k] = true
			return
		} else if ok {
			return // the first row of the entity stays
		}
		p[k] = a
	}
	if ix == nil {
		return p
	}
	for _, a := range ix.Assets() {
		if a != nil && a.Kind == catalog.KindProgram && a.Entity != nil {
			add(a.Value, a)
		}
	}
	for _, id := range sortedIDs(ix.Entities) {
		e := ix.Entities[id]
		src := ix.Sources[e.Source]
		if src == nil {
			src = &catalog.Source{ID: e.Source}
		}
		role := catalog.RoleService // whoever publishes a program owns it
		if len(e.Roles) == 1 && e.Roles[0] == catalog.RoleChip {
			role = catalog.RoleChip // a chip maker's driver says nothing of the data's owner
		}
		for _, n := range append([]string{e.Name}, e.Aka...) {
			add(n, &catalog.Asset{Entity: e, Kind: AliasKind, Value: n, Role: role, Source: src,
				AsOf: e.AsOf, Status: e.Status, Pos: e.Pos, Note: "the entity's name or alias"})
		}
	}
	return p
}

// sortedIDs orders entities so that which row of an entity is kept for a
// name does not depend on map order.
func sortedIDs(m map[string]*catalog.Entity) []string {
	return slices.Sorted(maps.Keys(m))
}

// match attributes pub (already without a maintainer's address).
func (p publishers) match(pub string) attribute.Attribution {
	a := p[NormPublisher(pub)]
	if a == nil {
		return attribute.Attribution{}
	}
	r := attribute.Attribution{Entity: a.Entity, Role: a.Role, Kind: attribute.Program, Value: pub, Asset: a,
		Confidence: attribute.Medium}
	if a.Status == catalog.Unverified {
		r.Confidence = attribute.Low
	}
	return r
}

// legalForms are the words of a legal form that end a company's name and
// say nothing of who it is.
var legalForms = map[string]bool{
	"co": true, "company": true, "ltd": true, "limited": true, "inc": true, "incorporated": true,
	"corp": true, "corporation": true, "llc": true, "plc": true, "pte": true, "pty": true,
	"gmbh": true, "ag": true, "sa": true, "bv": true, "nv": true, "srl": true, "kk": true,
	"有限公司": true, "股份有限公司": true, "有限责任公司": true, "公司": true,
}

// cjkForms end a Chinese name without a space before them.
var cjkForms = []string{"股份有限公司", "有限责任公司", "有限公司", "公司"}

// NormPublisher folds a publisher or company name for comparison: lower
// case (full-width Latin letters and digits as ASCII), dots and
// apostrophes dropped ("Co.", "S.A."), every other non-letter, non-digit a
// word break, and trailing legal forms removed ("Co., Ltd.", "Inc.",
// "Limited", "有限公司"), keeping at least one word. "Tencent Technology
// (Shenzhen) Co., Ltd." and "TENCENT TECHNOLOGY (SHENZHEN) COMPANY
// LIMITED" both become "tencent technology shenzhen". Callers compare
// whole results, never substrings: "Tencentative Games" is not "tencent".
func NormPublisher(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch {
		case r == '.' || r == '\'' || r == '\u2019':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			b.WriteRune(unicode.ToLower(r))
		default:
			gap = true
		}
	}
	words := strings.Fields(b.String())
	for changed := true; changed && len(words) > 0; {
		changed = false
		if len(words) > 1 && legalForms[words[len(words)-1]] {
			words, changed = words[:len(words)-1], true
			continue
		}
		last := words[len(words)-1]
		for _, f := range cjkForms {
			if len(last) > len(f) && strings.HasSuffix(last, f) {
				words[len(words)-1], changed = strings.TrimSuffix(last, f), true
				break
			}
		}
	}
	return strings.Join(words, " ")
}
