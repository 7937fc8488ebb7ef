package sbom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"mit", "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy", "MIT"},
		{"bsd3", "Redistribution and use in source and binary forms, with or without\nmodification, are permitted ... * Neither the name of Google Inc. nor", "BSD-3-Clause"},
		{"bsd2", "Redistribution and use in source and binary forms, with or without modification, are permitted provided", "BSD-2-Clause"},
		{"apache", "                                 Apache License\n                           Version 2.0, January 2004", "Apache-2.0"},
		{"isc", "ISC License\n\nPermission to use, copy, modify, and/or distribute this software", "ISC"},
		{"gpl", "GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007", "GPL"},
		{"agpl", "GNU AFFERO GENERAL PUBLIC LICENSE", "AGPL-3.0"},
		{"mpl", "Mozilla Public License Version 2.0\n==================================", "MPL-2.0"},
		{"unknown", "All rights reserved.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.text); got != tc.want {
				t.Errorf("Classify = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	if got, want := escape("github.com/ClickHouse/clickhouse-go/v2"), "github.com/!click!house/clickhouse-go/v2"; got != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
}

// TestForTestBinary reads this test binary, a real Go executable.
func TestForTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ForFile(exe, Options{Name: "x", Time: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if b.Metadata.Component.Name != "x" || len(b.Metadata.Component.Properties) < 3 {
		t.Errorf("metadata: %+v", b.Metadata.Component)
	}
	if _, err := ForFile(filepath.Join(t.TempDir(), "none"), Options{}); err == nil {
		t.Error("a missing file gave no error")
	}
}

// TestOutflowBuild builds the BOM from the build information of a real
// static outflow build (go version -m, in testdata).
func TestOutflowBuild(t *testing.T) {
	text, err := os.ReadFile("testdata/outflow.buildinfo")
	if err != nil {
		t.Fatal(err)
	}
	bi, err := debug.ParseBuildInfo(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(bi.Deps) < 10 {
		t.Fatalf("testdata has %d deps", len(bi.Deps))
	}
	// A module licensed under a fake cache entry, and a require the binary
	// does not link.
	cache := t.TempDir()
	d := bi.Deps[0]
	if d.Replace != nil {
		d = d.Replace
	}
	licDir := filepath.Join(cache, escape(d.Path)+"@"+d.Version)
	if err := os.MkdirAll(licDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(licDir, "LICENSE"), []byte("Permission is hereby granted, free of charge"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Name: "outflow", Version: "v9.9.9", Time: time.Unix(1780000000, 0), ModCache: cache,
		Requires: []Require{{Path: "example.com/test-only", Version: "v1.0.0"}, {Path: bi.Deps[0].Path, Version: bi.Deps[0].Version}}}
	sum := [32]byte{1, 2, 3}
	a, b := New(bi, sum, opts), New(bi, sum, opts)
	ja, _ := a.JSON()
	jb, _ := b.JSON()
	if string(ja) != string(jb) {
		t.Error("two BOMs of one binary differ")
	}
	var doc map[string]any
	if err := json.Unmarshal(ja, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["bomFormat"] != "CycloneDX" || doc["specVersion"] != "1.5" {
		t.Errorf("header: %v %v", doc["bomFormat"], doc["specVersion"])
	}
	if a.Metadata.Component.Version != "v9.9.9" || a.Metadata.Timestamp != "2026-05-28T20:26:40Z" {
		t.Errorf("metadata: %+v", a.Metadata)
	}
	byName := map[string]Component{}
	for _, c := range a.Components {
		if _, dup := byName[c.Name]; dup {
			t.Errorf("%s listed twice", c.Name)
		}
		byName[c.Name] = c
	}
	for _, dep := range bi.Deps {
		m := dep
		if dep.Replace != nil {
			m = dep.Replace
		}
		c, ok := byName[m.Path]
		if !ok || c.Scope != "required" || c.Version != m.Version || c.PURL != "pkg:golang/"+m.Path+"@"+m.Version {
			t.Errorf("linked module %s@%s: got %+v", m.Path, m.Version, c)
		}
	}
	if c := byName["example.com/test-only"]; c.Scope != "excluded" {
		t.Errorf("unlinked require: %+v", c)
	}
	if c := byName[d.Path]; len(c.Licenses) != 1 || c.Licenses[0].License.ID != "MIT" {
		t.Errorf("licence of %s: %+v", d.Path, c.Licenses)
	}
	// Every other linked module has no licence in the fake cache.
	if bad := a.NotPermissive(); len(bad) != len(bi.Deps)-1 {
		t.Errorf("NotPermissive = %v, want the %d modules without a licence file", bad, len(bi.Deps)-1)
	}
	if len(a.Dependencies) != 1 || len(a.Dependencies[0].DependsOn) != len(bi.Deps) {
		t.Errorf("dependencies: %+v", a.Dependencies)
	}
}
