// Package audit is `outflow audit`'s engine: it reads an Android app
// (extract), applies the rules (rules), attributes the app's package name,
// signer, SDK package prefixes and endpoints through the catalog
// (attribute), decides a verdict under a policy when one is given (policy),
// and returns one Report per app; Expand and AuditAll run a folder of apps,
// one bad app never stopping the batch.
//
// The report model (Report, SDK, Endpoint, AppVerdict, Document) is what the
// JSON output, SARIF and HTML renderers read; docs/output.md describes its
// JSON form.
//
// audit must never import a CLI or renderer package (cli, the renderers
// internal/report/{auditreport,audithtml,auditsarif}), nor a source or
// sink of the network pipeline (capture, resolver, store, web).
package audit
