// Package finding is the vocabulary of the app audit's results: a Finding
// names a rule, a severity and the evidence that triggered it, and Rules
// describes every rule once, for reports and for SARIF's rule table.
//
// It is a leaf: it must never import another outflow package.
package finding

import (
	"fmt"
	"strings"
)

// Severity grades a finding. Larger is worse.
type Severity uint8

// Severities, from the mildest.
const (
	Info Severity = iota
	Low
	Medium
	High
)

var severityNames = [...]string{"info", "low", "medium", "high"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", s)
}

// MarshalText names the severity in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok {
		return fmt.Errorf("unknown severity %q", b)
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity name.
func ParseSeverity(name string) (Severity, bool) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), true
		}
	}
	return 0, false
}

// Category groups rules in reports.
type Category string

// Categories.
const (
	CatEntity       Category = "entity"        // the app, its signer or an SDK belongs to an entity of concern
	CatEndpoint     Category = "endpoint"      // a host of an entity of concern in the app
	CatData         Category = "personal-data" // personal data the app can reach
	CatCapability   Category = "capability"    // what the app can do to the device
	CatAntiAnalysis Category = "anti-analysis" // packers, environment checks, hidden strings
	CatInput        Category = "input"         // the file itself: missing or broken parts, limits
)

// Evidence kinds.
const (
	EvPermission = "permission"    // a <uses-permission>
	EvManifest   = "manifest"      // another manifest element or attribute
	EvAPICall    = "api-call"      // a framework method some code invokes
	EvAPIRef     = "api-ref"       // a method, type or field referenced but not seen invoked
	EvClass      = "class"         // a class the app defines
	EvString     = "string"        // a string in a DEX file or in the resources
	EvFile       = "file"          // an archive entry
	EvNative     = "native"        // a mark in a native library
	EvCert       = "certificate"   // the signer certificate
	EvPackage    = "package"       // the package name
	EvHost       = "host"          // a hostname
	EvStats      = "string-stats"  // measured properties of the string constants
	EvError      = "error"         // a parse error or a limit
	EvCatalog    = "catalog"       // a catalog rule
	EvPolicy     = "policy"        // a policy rule
	EvNested     = "nested-code"   // DEX or archive inside the app
	EvSkipped    = "skipped-entry" // a DEX name the runtime does not load
)

// Evidence is one observation behind a finding.
type Evidence struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	// Where names the file it was seen in: "classes2.dex",
	// "assets/plugin.apk!classes.dex", "lib/arm64-v8a/libjiagu.so".
	Where string `json:"where,omitempty"`
	// Note says more where the value alone does not: "referenced, not
	// seen invoked", "medium-confidence mark".
	Note string `json:"note,omitempty"`
}

func (e Evidence) String() string {
	s := e.Kind + " " + e.Value
	if e.Where != "" {
		s += " (" + e.Where + ")"
	}
	if e.Note != "" {
		s += ": " + e.Note
	}
	return s
}

// Finding is one rule that fired on an app.
type Finding struct {
	ID       string     `json:"id"`
	Severity Severity   `json:"severity"`
	Category Category   `json:"category"`
	Title    string     `json:"title"`
	Evidence []Evidence `json:"evidence"`
	// Subject is what the finding is about when a rule fires several times
	// on one app: the SDK prefix, the host, the packer.
	Subject string `json:"subject,omitempty"`
	// Concern marks findings that make the app "of concern" (exit status 3):
	// an entity of concern, or a policy verdict other than allow.
	Concern bool `json:"concern,omitempty"`
}

// MaxEvidence bounds the evidence kept per finding; reports say how many
// more there were in a last item.
const MaxEvidence = 12

// Trim keeps at most MaxEvidence items, replacing the rest with a count.
func Trim(ev []Evidence) []Evidence {
	if len(ev) <= MaxEvidence {
		return ev
	}
	n := len(ev) - (MaxEvidence - 1)
	out := append(ev[:MaxEvidence-1:MaxEvidence-1], Evidence{Kind: "more", Value: fmt.Sprintf("%d more", n)})
	return out
}

// Rule describes one kind of finding, for reports and for the rule table of
// SARIF.
type Rule struct {
	ID       string
	Category Category
	Severity Severity // the usual severity; a finding may differ
	Title    string   // one line
	Help     string   // what it means and what to do
}
