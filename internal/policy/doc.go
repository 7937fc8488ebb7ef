// Package policy decides what happens to an attribution for a client: allow,
// monitor, "due" (answered and logged, because the rule's deadline is still
// ahead) or block, with the rule, its legal basis, its deadline and the
// answer to give. It reads the policy file (docs/policy.md): groups of
// clients and rules over entities and their owner chains, official lists,
// jurisdictions and single names.
//
// Decide is on the resolver's hot path and does not allocate.
//
// It is part of the core: it imports catalog and attribute only, and must
// never import a source, sink or command package (capture, resolver, store,
// report, web, cli).
package policy
