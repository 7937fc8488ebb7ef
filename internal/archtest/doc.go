// Package archtest holds the test that enforces the import rules of
// docs/architecture.md over `go list`: which layer may import which, that
// only commands import commands, that store backends and renderers stay
// apart, that no two packages share a name, and that test helpers and
// test-only dependencies stay out of the outflow binary. It has no code of its own; it must never be imported.
package archtest
