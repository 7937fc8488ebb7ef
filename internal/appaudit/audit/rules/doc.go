// Package rules turns what extract read from an app into findings: the
// personal data it can reach (from permissions and from referenced framework
// APIs, each said apart), what it can do to the device (install apps, load
// code, run shell commands, start at boot), how it resists analysis
// (packers, root, emulator and debugger checks, encoded strings), and the
// problems of the file itself. Its tables say what to look for; extract
// looks, in one pass.
//
// Rules about entities (SDKs, endpoints, signers and their owners) need the
// catalog and live in the audit package; this package must never import the
// catalog, attribution or policy packages, nor any report or CLI package.
package rules
