// Package web is `outflow serve`: the dashboard (server-rendered pages,
// SVG charts and map, one small script file) and the read-only JSON API
// over a store.Reader, with its access control: loopback-only without
// users, sessions with CSRF tokens, read-only bearer tokens, TLS, security
// headers.
//
// It reads the store through store.Reader only and must never import a
// store backend, the catalog, the capture or resolver packages, or a
// command: what it shows is what the store holds.
package web
