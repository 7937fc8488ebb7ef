// Package sbom writes a CycloneDX 1.5 bill of materials for a built Go
// binary: the modules linked into it (from the build information Go
// embeds), with versions, go.sum hashes and licences read from the module
// cache, plus the modules go.mod requires that the binary does not link
// (test-only), marked scope "excluded" so that the list is complete and
// honest about what ships.
//
// It is a build tool (cmd/outflow-sbom, run by scripts/dist); it must
// never import an outflow package.
package sbom

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Require is one require line of go.mod (go mod edit -json).
type Require struct {
	Path     string
	Version  string
	Indirect bool
}

// Options say what goes beside the modules.
type Options struct {
	Name     string    // the application: "outflow"
	Version  string    // its release version; default the build's
	Time     time.Time // the BOM's timestamp (SOURCE_DATE_EPOCH for reproducible builds)
	ModCache string    // GOMODCACHE, for licences; "" to skip them
	Requires []Require // go.mod's requires
}

// BOM is the CycloneDX document (the fields used here).
type BOM struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     Metadata     `json:"metadata"`
	Components   []Component  `json:"components"`
	Dependencies []Dependency `json:"dependencies"`
}

// Metadata names the tool and the application the BOM describes.
type Metadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     Tools     `json:"tools"`
	Component Component `json:"component"`
}

// Tools lists the generator.
type Tools struct {
	Components []Component `json:"components"`
}

// Component is a module (or the application).
type Component struct {
	Type       string     `json:"type"`
	BOMRef     string     `json:"bom-ref,omitempty"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	Scope      string     `json:"scope,omitempty"`
	PURL       string     `json:"purl,omitempty"`
	Licenses   []License  `json:"licenses,omitempty"`
	Properties []Property `json:"properties,omitempty"`
}

// License is an SPDX id.
type License struct {
	License struct {
		ID string `json:"id"`
	} `json:"license"`
}

// Property is a name and value.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Dependency says what a component depends on.
type Dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// ForFile reads the build information of the binary at path.
func ForFile(path string, o Options) (*BOM, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return New(bi, sha256.Sum256(b), o), nil
}

// New builds the BOM of a binary whose build information is bi and whose
// SHA-256 is sum (it seeds the serial number, so one binary has one BOM).
func New(bi *debug.BuildInfo, sum [32]byte, o Options) *BOM {
	version := o.Version
	if version == "" {
		version = bi.Main.Version
	}
	mainRef := purl(bi.Main.Path, version)
	app := Component{Type: "application", BOMRef: mainRef, Name: o.Name, Version: version, PURL: mainRef,
		Properties: []Property{{"go:version", bi.GoVersion}, {"go:module", bi.Main.Path}, {"sha256", fmt.Sprintf("%x", sum)}}}
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "-ldflags", "vcs.revision", "vcs.time", "vcs.modified":
			app.Properties = append(app.Properties, Property{"go:build:" + s.Key, s.Value})
		}
	}
	bom := &BOM{BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: uuid(sum),
		Metadata: Metadata{Timestamp: o.Time.UTC().Format(time.RFC3339),
			Tools:     Tools{Components: []Component{{Type: "application", Name: "outflow-sbom"}}},
			Component: app}}
	linked := map[string]bool{}
	var refs []string
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		c := Component{Type: "library", Name: m.Path, Version: m.Version, Scope: "required", PURL: purl(m.Path, m.Version)}
		c.BOMRef = c.PURL
		if m.Sum != "" {
			c.Properties = append(c.Properties, Property{"go:h1", m.Sum})
		}
		if d.Replace != nil {
			c.Properties = append(c.Properties, Property{"go:replaces", d.Path + "@" + d.Version})
		}
		c.Licenses = licenses(o.ModCache, m.Path, m.Version)
		linked[d.Path] = true
		refs = append(refs, c.BOMRef)
		bom.Components = append(bom.Components, c)
	}
	for _, r := range o.Requires {
		if linked[r.Path] {
			continue
		}
		c := Component{Type: "library", Name: r.Path, Version: r.Version, Scope: "excluded", PURL: purl(r.Path, r.Version),
			Properties: []Property{{"outflow:note", "required by go.mod, not linked into the binary (tests or tools)"}}}
		c.BOMRef = c.PURL
		c.Licenses = licenses(o.ModCache, r.Path, r.Version)
		bom.Components = append(bom.Components, c)
	}
	sort.Slice(bom.Components, func(i, j int) bool { return bom.Components[i].Name < bom.Components[j].Name })
	sort.Strings(refs)
	bom.Dependencies = []Dependency{{Ref: mainRef, DependsOn: refs}}
	return bom
}

// permissive are the licences a shipped binary may link without a
// decision by a person.
var permissive = map[string]bool{"MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true,
	"Apache-2.0": true, "ISC": true, "Unlicense": true}

// NotPermissive lists the linked modules whose licence is unknown or not
// permissive, as "path@version (licence)".
func (b *BOM) NotPermissive() []string {
	var out []string
	for _, c := range b.Components {
		if c.Scope != "required" {
			continue
		}
		id := "unknown"
		if len(c.Licenses) > 0 {
			id = c.Licenses[0].License.ID
		}
		if !permissive[id] {
			out = append(out, fmt.Sprintf("%s@%s (%s)", c.Name, c.Version, id))
		}
	}
	return out
}

// JSON is the document, indented.
func (b *BOM) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	return append(out, '\n'), err
}

func purl(path, version string) string {
	if version == "" || version == "(devel)" {
		return "pkg:golang/" + path
	}
	return "pkg:golang/" + path + "@" + version
}

// uuid is a version-4-shaped UUID from the binary's hash.
func uuid(sum [32]byte) string {
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// licenses reads the module's licence file from the module cache and
// names it when it is one of the common texts; nothing when unsure.
func licenses(cache, path, version string) []License {
	if cache == "" || version == "" {
		return nil
	}
	dir := filepath.Join(cache, escape(path)+"@"+version)
	for _, name := range []string{"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE-MIT"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if id := Classify(string(b)); id != "" {
			var l License
			l.License.ID = id
			return []License{l}
		}
		return nil
	}
	return nil
}

// Classify names a licence text by SPDX id: the usual permissive ones and
// the copyleft ones a release must not link by accident.
func Classify(text string) string {
	t := strings.Join(strings.Fields(text), " ")
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case has("GNU AFFERO GENERAL PUBLIC LICENSE"):
		return "AGPL-3.0"
	case has("GNU LESSER GENERAL PUBLIC LICENSE"):
		return "LGPL"
	case has("GNU GENERAL PUBLIC LICENSE"):
		return "GPL"
	case has("Mozilla Public License Version 2.0") || has("Mozilla Public License, version 2.0"):
		return "MPL-2.0"
	case has("Apache License") && has("Version 2.0"):
		return "Apache-2.0"
	case has("Permission is hereby granted, free of charge"):
		return "MIT"
	case has("Permission to use, copy, modify, and/or distribute") || has("Permission to use, copy, modify, and distribute"):
		return "ISC"
	case has("Redistribution and use in source and binary forms"):
		if has("Neither the name") || has("names of its contributors") || has("name of the copyright holder") {
			return "BSD-3-Clause"
		}
		return "BSD-2-Clause"
	case has("This is free and unencumbered software released into the public domain"):
		return "Unlicense"
	}
	return ""
}

// escape is the module cache's case encoding: an upper-case letter
// becomes "!" and its lower case.
func escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
