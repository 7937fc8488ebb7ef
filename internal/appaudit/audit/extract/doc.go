// Package extract reads one Android app (APK, split set, XAPK, JAR or bare
// DEX) into the facts the audit rules judge: the manifest, the label, the
// signer certificates, and from every DEX file (nested ones included) the
// classes per SDK, the framework methods, types and fields referenced, the
// strings asked for, the hosts and URLs, and string statistics; from native
// libraries and entry names, the marks of packers.
//
// It drives the parsers (apk, axml, arsc, apksig, dex, elfscan) and knows
// no rule: what to look for comes in a Want built by the rules package.
// DEX files are parsed by a small pool of workers while the next one is
// inflated, and each is dropped once read, so memory stays near the size of
// the largest few DEX files, not the app.
//
// extract must never import the catalog, attribution, policy or report
// packages, nor the CLI.
package extract
