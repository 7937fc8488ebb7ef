// Package fleet checks device inventories against a policy: which devices
// still carry an app of a banned entity, under which rule and legal basis,
// and whether each is compliant, due (the deadline is ahead) or overdue.
// It also flags devices whose inventory says an app is gone while the
// store still sees their traffic reach the banned entity after the
// deadline.
//
// Apps are attributed through the catalog by their identifiers only:
// Android package names and iOS/macOS bundle ids (attribute.App), and
// program, package and extension publishers: the catalog's program rows,
// then any entity's name or alias, compared as whole names with case,
// punctuation and legal forms folded, so that "Tencent" and "腾讯" are
// Tencent but "Tencentative Games" is not. A display name is never
// evidence, so a lookalike "TikTok" published by someone else is not
// TikTok.
//
// It imports the core (catalog, attribute, policy), the inventory model
// and the store's row types; it must never import an inventory parser,
// a store backend, a renderer or a command package.
package fleet
