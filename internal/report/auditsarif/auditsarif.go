// Package auditsarif writes audit reports as SARIF 2.1.0 (OASIS Static Analysis
// Results Interchange Format), the format code-scanning dashboards and CI
// pipelines read: one run, every audit rule in the driver's rule table, one
// result per finding located in the app file, and apps that could not be read,
// or not fully, as tool execution notifications.
//
// It reads the audit model only and must never import the parsers, the
// catalog or the CLI.
package auditsarif

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
)

// Version and Schema of the format written.
const (
	Version = "2.1.0"
	Schema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// Log is a SARIF log (the subset written here).
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one run of the tool.
type Run struct {
	Tool        Tool         `json:"tool"`
	Invocations []Invocation `json:"invocations"`
	Artifacts   []Artifact   `json:"artifacts"`
	Results     []Result     `json:"results"`
}

// Tool names the driver and its rules.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is outflow.
type Driver struct {
	Name           string                `json:"name"`
	Version        string                `json:"version,omitempty"`
	InformationURI string                `json:"informationUri"`
	Rules          []ReportingDescriptor `json:"rules"`
}

// ReportingDescriptor describes a rule.
type ReportingDescriptor struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     Message        `json:"shortDescription"`
	FullDescription      Message        `json:"fullDescription"`
	Help                 Message        `json:"help"`
	DefaultConfiguration Configuration  `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

// Configuration is a rule's default level.
type Configuration struct {
	Level string `json:"level"`
}

// Message is plain text.
type Message struct {
	Text string `json:"text"`
}

// Invocation says whether the tool ran through.
type Invocation struct {
	ExecutionSuccessful bool           `json:"executionSuccessful"`
	Notifications       []Notification `json:"toolExecutionNotifications,omitempty"`
}

// Notification is an app that could not be read.
type Notification struct {
	Level     string     `json:"level"`
	Message   Message    `json:"message"`
	Locations []Location `json:"locations,omitempty"`
}

// Artifact is an audited file.
type Artifact struct {
	Location ArtifactLocation  `json:"location"`
	Length   int64             `json:"length"`
	Hashes   map[string]string `json:"hashes,omitempty"`
	Roles    []string          `json:"roles"`
}

// ArtifactLocation points at an artifact.
type ArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
	Index     *int   `json:"index,omitempty"`
}

// Result is one finding.
type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             Message           `json:"message"`
	Locations           []Location        `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

// Location is where a result is: the app file, and the class, package or
// entry the evidence names.
type Location struct {
	PhysicalLocation PhysicalLocation  `json:"physicalLocation"`
	LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
}

// PhysicalLocation is the app file.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
}

// LogicalLocation is a place inside the app.
type LogicalLocation struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind,omitempty"`
}

// Options name the tool version and the directory paths are relative to.
type Options struct {
	ToolVersion string
	// BaseDir is where the run started (the working directory): an app
	// under it is named by its path relative to it with the uriBaseId
	// SRCROOT, as code-scanning services expect, so that a log does not
	// depend on the machine it was made on. Empty: the working directory.
	BaseDir string
}

// BaseID is the uriBaseId of paths relative to Options.BaseDir.
const BaseID = "SRCROOT"

// Level maps a severity to a SARIF level.
func Level(s finding.Severity) string {
	switch s {
	case finding.High:
		return "error"
	case finding.Medium:
		return "warning"
	}
	return "note"
}

// Build makes the SARIF log of a run.
func Build(doc *audit.Document, rules []finding.Rule, o Options) *Log {
	drv := Driver{Name: "outflow", Version: o.ToolVersion, InformationURI: "https://github.com/outflow-dev/outflow", Rules: []ReportingDescriptor{}}
	index := map[string]int{}
	for _, r := range rules {
		index[r.ID] = len(drv.Rules)
		drv.Rules = append(drv.Rules, ReportingDescriptor{
			ID: r.ID, Name: ruleName(r.ID),
			ShortDescription:     Message{r.Title},
			FullDescription:      Message{r.Help},
			Help:                 Message{r.Help},
			DefaultConfiguration: Configuration{Level(r.Severity)},
			Properties:           map[string]any{"category": string(r.Category), "tags": []string{"android", string(r.Category)}},
		})
	}
	run := Run{Tool: Tool{Driver: drv}, Artifacts: []Artifact{}, Results: []Result{}}
	inv := Invocation{ExecutionSuccessful: true}
	for i, rep := range doc.Apps {
		ai := i
		uri, base := fileURI(rep.File, o.BaseDir)
		loc := ArtifactLocation{URI: uri, URIBaseID: base, Index: &ai}
		art := Artifact{Location: ArtifactLocation{URI: uri, URIBaseID: base}, Length: rep.Size, Roles: []string{"analysisTarget"}}
		if rep.SHA256 != "" {
			art.Hashes = map[string]string{"sha-256": rep.SHA256}
		}
		run.Artifacts = append(run.Artifacts, art)
		switch {
		case rep.Error != "":
			inv.ExecutionSuccessful = false
			inv.Notifications = append(inv.Notifications, Notification{Level: "error", Message: Message{rep.Error},
				Locations: []Location{{PhysicalLocation: PhysicalLocation{ArtifactLocation: loc}}}})
		case len(rep.Incomplete) > 0:
			// Part of the app was not read: the run did not do all it was
			// asked, whatever the results say (the "incomplete" result
			// lists the parts).
			inv.ExecutionSuccessful = false
			msg := "not fully read: " + rep.Incomplete[0].String()
			if n := len(rep.Incomplete) - 1; n > 0 {
				msg += " (and " + strconv.Itoa(n) + " more)"
			}
			inv.Notifications = append(inv.Notifications, Notification{Level: "warning", Message: Message{msg},
				Locations: []Location{{PhysicalLocation: PhysicalLocation{ArtifactLocation: loc}}}})
		}
		for _, f := range rep.Findings {
			ri, ok := index[f.ID]
			if !ok {
				continue
			}
			l := Location{PhysicalLocation: PhysicalLocation{ArtifactLocation: loc}}
			if lg := logical(rep, f); lg != nil {
				l.LogicalLocations = []LogicalLocation{*lg}
			}
			var ev []string
			for _, e := range f.Evidence {
				ev = append(ev, e.String())
			}
			run.Results = append(run.Results, Result{
				RuleID: f.ID, RuleIndex: ri, Level: Level(f.Severity),
				Message:             Message{message(rep, f)},
				Locations:           []Location{l},
				PartialFingerprints: map[string]string{"outflowFinding/v1": fingerprint(rep, f)},
				Properties: map[string]any{
					"severity": f.Severity.String(), "category": string(f.Category),
					"package": rep.Package, "subject": f.Subject, "evidence": ev, "concern": f.Concern,
				},
			})
		}
	}
	run.Invocations = []Invocation{inv}
	return &Log{Schema: Schema, Version: Version, Runs: []Run{run}}
}

// Write writes the SARIF log of a run as indented JSON.
func Write(w io.Writer, doc *audit.Document, rules []finding.Rule, o Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Build(doc, rules, o))
}

func message(rep *audit.Report, f finding.Finding) string {
	var b strings.Builder
	b.WriteString(f.Title)
	if rep.Package != "" {
		b.WriteString(" [" + rep.Package + "]")
	}
	if len(f.Evidence) > 0 {
		b.WriteString(": ")
		b.WriteString(f.Evidence[0].String())
		if len(f.Evidence) > 1 {
			b.WriteString(" (and more evidence)")
		}
	}
	return b.String()
}

// logical names the place inside the app a finding is about: the SDK
// package, the packer, or the app's package.
func logical(rep *audit.Report, f finding.Finding) *LogicalLocation {
	switch {
	case f.Subject != "" && (f.Category == finding.CatEntity || f.ID == "weibo-cmd-installer") && strings.Contains(f.Subject, "."):
		return &LogicalLocation{FullyQualifiedName: f.Subject, Kind: "namespace"}
	case rep.Package != "":
		return &LogicalLocation{FullyQualifiedName: rep.Package, Kind: "package"}
	}
	return nil
}

// fingerprint identifies a finding across runs: the same rule and subject
// in an app of the same package (or file name) is the same result.
func fingerprint(rep *audit.Report, f finding.Finding) string {
	who := rep.Package
	if who == "" {
		who = filepath.Base(rep.File)
	}
	h := sha256.Sum256([]byte(who + "\x00" + f.ID + "\x00" + f.Subject))
	return hex.EncodeToString(h[:16])
}

func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, c := range id {
		if c == '-' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}

// fileURI makes a file path a URI reference relative to base (with the
// base id BaseID), or an absolute file URI when it lies outside base.
func fileURI(p, base string) (uri, baseID string) {
	if base == "" {
		base, _ = os.Getwd()
	}
	if filepath.IsAbs(p) && base != "" {
		if rel, err := filepath.Rel(base, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			p = rel
		}
	}
	p = filepath.ToSlash(p)
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return (&url.URL{Scheme: "file", Path: p}).String(), ""
	}
	p = strings.TrimPrefix(p, "./")
	return (&url.URL{Path: p}).String(), BaseID
}
