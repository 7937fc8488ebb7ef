// Package scan is the pipeline of `outflow scan`: captures are read and
// decoded, the flow tracker turns packets into flows with names, each
// finished flow is attributed once through the attribution core, and the
// results are summed per device and entity into a Report.
//
// It joins a source (capture) to the core (attribute); renderers live in
// internal/report. It must never import a command or renderer package.
package scan
