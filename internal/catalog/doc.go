// Package catalog loads, validates and indexes outflow's catalog of
// entities: organisations with their jurisdiction, owners, the official
// lists they are on, and the assets (domains, ASNs and prefixes, certificate
// organisations, app and SDK identifiers, MAC OUIs) by which traffic, apps
// and devices are attributed to them. Every asset carries its source and
// as-of date.
//
// The catalog is data, not code: YAML files for entities, lists and sources,
// CSV tables for assets (docs/catalog.md). The built-in layer is embedded in
// the binary twice: as text, and compiled by `go generate ./catalog/`
// (catgen, compiled.go) into a versioned binary form that Open reads in
// a few milliseconds instead of parsing megabytes at every start. The
// compiled form is hand-written because it is read where it lies (string
// table, flat arrays, a longest-prefix table of ranges): no serialisation
// library gives zero-copy strings and an in-place prefix search. An
// organisation's own directory is loaded as text on top of the built-in
// text and may add or replace entities and lists by id. YAML files are
// decoded strictly by internal/yamlconf: a problem names the file, line and
// column.
//
// It is part of the core and must never import a source, sink or command
// package (capture, resolver, appaudit, store, report, web, cmd).
package catalog
