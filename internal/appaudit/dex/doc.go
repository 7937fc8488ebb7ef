// Package dex reads Dalvik executable (DEX) files, versions 035 to 041, for
// the static audit of Android apps: which classes an app defines, which
// strings it carries and loads, and which framework methods it references or
// calls.
//
// It is written by hand against the public DEX format specification
// (source.android.com/docs/core/runtime/dex-format), not ported from another
// parser. It reads the header, string_ids (with MUTF-8 decoding), type_ids,
// proto_ids, field_ids, method_ids and class_defs; it walks class_data and
// code items only to find const-string and invoke instructions (ScanCode).
//
// Speed on 100+ MB apps comes from laziness: parsing checks the header and
// every id table (bounds and cross-indices) up front, in one pass over the
// fixed-size tables, but never copies or decodes string data. The first
// string access finds where every string ends, in one linear pass (8 bytes
// of index per string), so that no later access scans and a hostile file
// whose strings overlap cannot make reading quadratic. Accessors and
// iterators hand out []byte slices that alias the input; a string becomes a
// Go string only when the caller asks for one. Errors in string data are
// found when that string is read and reported with its index and offset.
//
// Compact DEX (cdex), ODEX, VDEX and OAT files are recognised by Detect and
// rejected by ParseContainer with a *FormatError that names the kind.
//
// The package holds what the auditor reads through; lookups and checks
// that only tests use (FindString, HasMethod, VerifyChecksum, Parse of a
// single entry, ODEX unwrapping...) live in inspect_test.go, and the writer
// of minimal valid DEX files for tests and synthetic benchmarks is
// dex/dextest.
//
// This package parses untrusted input: it must never panic, and it must
// never import anything outside the standard library, nor any other outflow
// package (the auditor depends on it, not the other way round).
package dex
