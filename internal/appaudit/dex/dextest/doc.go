// Package dextest writes minimal valid DEX files (Build, BuildContainer)
// for the tests of the DEX parser, the auditor and the audit command, and
// for the synthetic apps of bench/audit. It is a test helper: it must never
// be imported by a package of the outflow binary (internal/archtest checks
// that), and it imports only the standard library and dex.
package dextest
