// Package entityrec makes the store's record of an entity from the
// catalog or from an attribution, the one way every writer does (scan,
// resolver query log, audit, fleet): the name, the jurisdiction it is
// registered in and its ultimate controlling owner's, the owner chain, and
// the lists it is on with the unverified ones marked. Outputs read the
// record back and must never contradict what the CLI said of the entity.
//
// It must never import a store backend, a command or a renderer.
package entityrec

import (
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/store"
)

// Of is the record of a catalog entity.
func Of(e *catalog.Entity) store.Entity {
	se := FromSummary(attribute.Summarize(attribute.Attribution{Entity: e}))
	if len(e.Roles) > 0 {
		se.Kind = string(e.Roles[0])
	}
	return se
}

// FromSummary is the record of an attributed entity as a report holds it
// (a scan's or an audit's JSON, say).
func FromSummary(s attribute.Summary) store.Entity {
	se := store.Entity{ID: s.Entity, Name: s.Name, Registered: s.Jurisdiction, Jurisdiction: s.Controlling, OwnerChain: s.OwnerChain}
	if se.Jurisdiction == "" {
		se.Jurisdiction = s.Jurisdiction
	}
	for _, l := range s.Lists {
		se.Lists = append(se.Lists, l.ID)
		if l.Status == string(catalog.Unverified) {
			se.Unverified = append(se.Unverified, l.ID)
		}
	}
	return se
}
