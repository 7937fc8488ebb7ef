package attribute

import "github.com/outflow-dev/outflow/internal/catalog"

// ListRef names a list an attribution's chain is on.
type ListRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Via    string `json:"via"`             // the entity of the chain that is listed
	Added  string `json:"added,omitempty"` // when the entry was added; empty for a list of countries
	Status string `json:"status,omitempty"`
}

// SourceRef is the document a catalog fact came from.
type SourceRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
	Date  string `json:"date"`
}

// Evidence is one indicator and the rule it matched.
type Evidence struct {
	Kind   EvidenceKind `json:"kind"`
	Value  string       `json:"value"`
	Rule   string       `json:"rule"`
	Source string       `json:"source"`
	AsOf   string       `json:"as_of"`
	Status string       `json:"status"`
	At     string       `json:"at,omitempty"` // file:line of the rule in the catalog
}

// Summary is an attribution flattened for reports and JSON.
type Summary struct {
	Entity       string `json:"entity"`
	Name         string `json:"name"`
	Jurisdiction string `json:"jurisdiction"` // where the entity itself is registered
	// Controlling is the jurisdiction of the ultimate controlling owner
	// (the last of OwnerChain): whose law reaches the data.
	Controlling string     `json:"controlling_jurisdiction,omitempty"`
	OwnerChain  []string   `json:"owner_chain"`
	Minority    []string   `json:"minority_owners,omitempty"`
	Role        string     `json:"role"`
	Lists       []ListRef  `json:"lists"`
	Evidence    Evidence   `json:"evidence"`
	Source      SourceRef  `json:"source"`
	Confidence  Confidence `json:"confidence"`
	Unverified  bool       `json:"unverified,omitempty"`
}

// Summarize flattens an attribution. It allocates: call it once per report
// line, not per packet.
func Summarize(a Attribution) Summary {
	if a.Entity == nil {
		return Summary{}
	}
	s := Summary{
		Entity:       a.Entity.ID,
		Name:         a.Entity.Name,
		Jurisdiction: a.Entity.Jurisdiction,
		Role:         string(a.Role),
		Confidence:   a.Confidence,
		Lists:        Lists(a.Entity),
	}
	for _, e := range a.Chain() {
		s.OwnerChain = append(s.OwnerChain, e.ID)
		if e.Jurisdiction != "" {
			s.Controlling = e.Jurisdiction
		}
	}
	if s.Controlling == "" {
		s.Controlling = s.Jurisdiction
	}
	for _, m := range a.Entity.Minority {
		s.Minority = append(s.Minority, m.ID)
	}
	if a.Asset != nil {
		s.Evidence = Evidence{Kind: a.Kind, Value: a.Value, Rule: a.Asset.Rule(),
			Source: a.Asset.Source.ID, AsOf: a.Asset.AsOf.Text, Status: string(a.Asset.Status), At: a.Asset.Pos.String()}
		s.Source = SourceOf(a.Asset.Source)
		s.Unverified = a.Asset.Status == catalog.Unverified
	}
	return s
}

// SourceOf flattens a source.
func SourceOf(src *catalog.Source) SourceRef {
	if src == nil {
		return SourceRef{}
	}
	return SourceRef{ID: src.ID, Title: src.Title, URL: src.URL, Date: src.Date.Text}
}

// Lists flattens an entity's list memberships, one per list.
func Lists(e *catalog.Entity) []ListRef {
	out := []ListRef{}
	seen := map[string]bool{}
	for _, m := range e.Memberships {
		if seen[m.List.ID] {
			continue
		}
		seen[m.List.ID] = true
		r := ListRef{ID: m.List.ID, Name: m.List.Name, Via: m.Entity.ID, Status: string(m.List.Status)}
		if m.Entry != nil {
			r.Added = m.Entry.Added.Text
			if m.Entry.Status != "" {
				r.Status = string(m.Entry.Status)
			}
		}
		out = append(out, r)
	}
	return out
}
