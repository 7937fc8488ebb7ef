// Package catalog embeds outflow's built-in catalog data: the entity, list
// and source YAML files and the asset CSV tables beside this file, and
// their compiled form (catalog.bin). The code that reads them is
// internal/catalog; the schema is in docs/catalog.md.
//
// The text files are the source of truth. catalog.bin is generated from
// them by `go generate ./catalog/` and committed, so that a build never
// needs the generator; internal/catalog's tests and `outflow catalog
// check` fail when it no longer matches them.
package catalog

import "embed"

//go:generate go run ../internal/catalog/catgen -o catalog.bin

// FS holds sources.yaml, entities/, lists/, assets/ and dns-services/.
//
//go:embed sources.yaml entities lists assets dns-services
var FS embed.FS

// Compiled is the compiled catalog (internal/catalog reads its layout).
//
//go:embed catalog.bin
var Compiled string
