// Package stix writes the catalog as a STIX 2.1 bundle for threat-intel
// platforms: an identity per entity, an indicator per name or prefix with a
// STIX pattern, an "attributed-to" relationship from each indicator to its
// entity's identity, and the catalog's source and date as external
// references.
//
// Ids are UUIDv5 of the object's content under a fixed namespace, so an
// export of the same catalog gives the same ids and a platform updates
// objects instead of duplicating them.
//
// It is a sink and must never import the catalog, a source or a command
// package.
package stix

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

// namespace is outflow's UUIDv5 namespace (itself a v5 of "outflow" under
// the URL namespace, fixed here).
var namespace = [16]byte{0x4f, 0x1c, 0x5a, 0x0e, 0x8e, 0x2b, 0x5d, 0x4b, 0x9a, 0x57, 0x3b, 0x61, 0x0f, 0x6d, 0x1e, 0x42}

// ID is a STIX id: type, "--", and a UUIDv5 of name.
func ID(typ, name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(typ + "\x00" + name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s--%x-%x-%x-%x-%x", typ, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Object is any STIX object; fields absent from a type stay empty.
type Object struct {
	Type               string              `json:"type"`
	SpecVersion        string              `json:"spec_version,omitempty"`
	ID                 string              `json:"id"`
	Created            string              `json:"created,omitempty"`
	Modified           string              `json:"modified,omitempty"`
	Name               string              `json:"name,omitempty"`
	Description        string              `json:"description,omitempty"`
	IdentityClass      string              `json:"identity_class,omitempty"`
	IndicatorTypes     []string            `json:"indicator_types,omitempty"`
	Pattern            string              `json:"pattern,omitempty"`
	PatternType        string              `json:"pattern_type,omitempty"`
	ValidFrom          string              `json:"valid_from,omitempty"`
	Confidence         int                 `json:"confidence,omitempty"`
	Labels             []string            `json:"labels,omitempty"`
	RelationshipType   string              `json:"relationship_type,omitempty"`
	SourceRef          string              `json:"source_ref,omitempty"`
	TargetRef          string              `json:"target_ref,omitempty"`
	ExternalReferences []ExternalReference `json:"external_references,omitempty"`
	Objects            []Object            `json:"objects,omitempty"`
}

// ExternalReference cites the catalog source of a fact.
type ExternalReference struct {
	SourceName  string `json:"source_name"`
	URL         string `json:"url,omitempty"`
	Description string `json:"description,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
}

// Pattern is the STIX pattern of an indicator: a name and the names under
// it, or an address prefix.
func Pattern(x indicator.Indicator) string {
	if x.Domain != "" {
		d := quote(x.Domain)
		return "[domain-name:value = '" + d + "' OR domain-name:value LIKE '%." + d + "']"
	}
	typ := "ipv4-addr"
	if x.Prefix.Addr().Is6() {
		typ = "ipv6-addr"
	}
	return "[" + typ + ":value = '" + x.Prefix.String() + "']"
}

// quote escapes a string literal: backslash and single quote.
func quote(s string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) }

// Write writes the bundle.
func Write(w io.Writer, h indicator.Header, in []indicator.Indicator) error {
	ts := h.Generated.UTC().Format("2006-01-02T15:04:05.000Z")
	var objs []Object
	idents := map[string]bool{}
	all := append(indicator.Domains(in, true), indicator.Prefixes(in)...)
	for _, x := range all {
		if !idents[x.Entity] {
			idents[x.Entity] = true
			name := x.EntityName
			if name == "" {
				name = x.Entity
			}
			desc := "outflow catalog entity " + x.Entity
			if len(x.Lists) > 0 {
				desc += "; on lists " + strings.Join(x.Lists, ", ")
			}
			objs = append(objs, Object{Type: "identity", SpecVersion: "2.1", ID: ID("identity", x.Entity), Created: ts, Modified: ts,
				Name: name, Description: desc, IdentityClass: "organization",
				ExternalReferences: []ExternalReference{{SourceName: "outflow", ExternalID: x.Entity}}})
		}
		value := x.Domain
		if value == "" {
			value = x.Prefix.String()
		}
		ref := ExternalReference{SourceName: "outflow catalog", ExternalID: x.Rule,
			Description: fmt.Sprintf("%s, source %s (document of %s), as of %s", x.Rule, x.Source, orDash(x.SourceDate), orDash(x.AsOf))}
		if x.SourceURL != "" {
			ref.URL = x.SourceURL
		}
		conf := 85
		if x.Unverified {
			conf = 30
		}
		ind := Object{Type: "indicator", SpecVersion: "2.1", ID: ID("indicator", x.Rule), Created: ts, Modified: ts,
			Name: value + " (" + x.Entity + ")", Description: "Traffic to " + value + " goes to " + x.Label(),
			IndicatorTypes: []string{"attribution"}, Pattern: Pattern(x), PatternType: "stix", ValidFrom: ts,
			Confidence: conf, ExternalReferences: []ExternalReference{ref}}
		if x.Unverified {
			ind.Labels = []string{"unverified"}
		}
		objs = append(objs, ind, Object{Type: "relationship", SpecVersion: "2.1", ID: ID("relationship", x.Rule+" attributed-to "+x.Entity),
			Created: ts, Modified: ts, RelationshipType: "attributed-to", SourceRef: ind.ID, TargetRef: ID("identity", x.Entity)})
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i].Type) < rank(objs[j].Type) })
	b := Object{Type: "bundle", ID: ID("bundle", h.Selection+"\x00"+ts), Objects: objs}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

func rank(t string) int {
	switch t {
	case "identity":
		return 0
	case "indicator":
		return 1
	}
	return 2
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
