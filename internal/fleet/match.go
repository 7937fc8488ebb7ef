package fleet

import (
	"strings"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/inventory"
)

// How an app was attributed (App.By).
const (
	ByAppID     = "app-id"        // the package name or bundle id is catalogued
	ByAppPrefix = "app-id-prefix" // a catalogued id followed by more labels (com.zhiliaoapp.musically.beta)
	ByPublisher = "publisher"     // the program's, package's or extension's publisher is catalogued
)

// maxCache bounds each attribution cache; past it, lookups are not cached.
const maxCache = 1 << 20

// Match is an item's attribution and how it was found.
type Match struct {
	attribute.Attribution
	By string
}

type cached struct {
	m        Match
	relevant bool // some rule of the policy could ever match it
}

// Matcher attributes inventory items through the catalog. It caches by
// identifier and publisher, since a fleet repeats the same few thousand
// apps on every device. It is not safe for concurrent use.
type Matcher struct {
	at       *attribute.Attributor
	relevant func(attribute.Attribution) bool
	ids      map[string]cached
	pubs     map[string]cached
	names    publishers
}

// NewMatcher returns a Matcher. relevant, when not nil, says whether an
// attribution matters (a policy rule could match it); Match reports the
// others as not found.
func NewMatcher(at *attribute.Attributor, relevant func(attribute.Attribution) bool) *Matcher {
	return &Matcher{at: at, relevant: relevant, ids: map[string]cached{}, pubs: map[string]cached{},
		names: newPublishers(at.Index())}
}

// Match attributes an item: by its identifier when it is an app or a
// package (Android package name, iOS/macOS bundle id, Flatpak-style Linux
// id), then by its publisher. Windows program names and extension ids are
// not looked up as app ids: a program's name says nothing of who made it.
func (mt *Matcher) Match(it *inventory.Item) (Match, bool) {
	if it.AppID != "" && it.Kind != inventory.KindProgram && it.Kind != inventory.KindExtension {
		c, ok := mt.ids[it.AppID]
		if !ok {
			k := strings.Clone(it.AppID) // see Checker.Add on copies
			c = mt.classify(mt.byID(k))
			if len(mt.ids) < maxCache {
				mt.ids[k] = c
			}
		}
		if c.m.Entity != nil {
			return c.m, c.relevant
		}
	}
	if it.Publisher != "" {
		c, ok := mt.pubs[it.Publisher]
		if !ok {
			k := strings.Clone(it.Publisher)
			c = mt.classify(mt.byPublisher(k))
			if len(mt.pubs) < maxCache {
				mt.pubs[k] = c
			}
		}
		if c.m.Entity != nil {
			return c.m, c.relevant
		}
	}
	return Match{}, false
}

func (mt *Matcher) classify(m Match) cached {
	c := cached{m: m}
	if m.Entity != nil && m.Role != catalog.RoleChip {
		c.relevant = mt.relevant == nil || mt.relevant(m.Attribution)
	}
	return c
}

// byID looks the id up exactly, then each parent id at a dot boundary: a
// new build of a catalogued app often adds a label (".lite", ".beta").
// A parent must keep at least two labels, so "com.x" alone never matches.
func (mt *Matcher) byID(id string) Match {
	if a := mt.at.App(id); a.Found() {
		return Match{a, ByAppID}
	}
	p := id
	for {
		i := strings.LastIndexByte(p, '.')
		if i <= 0 || strings.IndexByte(p[:i], '.') < 0 {
			return Match{}
		}
		p = p[:i]
		if a := mt.at.App(p); a.Found() {
			a.Value = id
			if a.Confidence > attribute.Medium {
				a.Confidence = attribute.Medium
			}
			return Match{a, ByAppPrefix}
		}
	}
}

// byPublisher attributes a publisher, without a Debian maintainer's
// "<address>" or surrounding quotes: a catalogued program publisher as
// written (case and spacing folded), else the whole publisher against the
// program rows and the entities' names and aliases, normalised
// (NormPublisher). "Tencent", "腾讯" and "Tencent Holdings Ltd." are
// Tencent; "Tencentative Games" and "NotTencent Inc" are no one.
func (mt *Matcher) byPublisher(pub string) Match {
	p := pub
	if i := strings.IndexByte(p, '<'); i > 0 {
		p = p[:i]
	}
	p = strings.Trim(strings.TrimSpace(p), `"'`)
	if p == "" {
		return Match{}
	}
	if a := mt.at.Program(p); a.Found() {
		a.Value = pub
		return Match{a, ByPublisher}
	}
	if a := mt.names.match(p); a.Found() {
		a.Value = pub
		return Match{a, ByPublisher}
	}
	return Match{}
}
