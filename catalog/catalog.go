// Package catalog embeds outflow's built-in catalog data: the entity, list
// and source YAML files and the asset CSV tables beside this file. The code
// that reads them is internal/catalog; the schema is in docs/catalog.md.
package catalog

import "embed"

// FS holds sources.yaml, entities/, lists/, assets/ and dns-services/.
//
//go:embed sources.yaml entities lists assets dns-services
var FS embed.FS
