package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/entityrec"
)

// StoreTraffic reads contacts from a store: each device's exposures to
// entities (flows) and the resolver's clients still asking for blocked
// names after a deadline.
type StoreTraffic struct {
	R        store.Reader
	PageSize int // rows per Devices call; 0 means store.MaxLimit
}

var _ TrafficSource = StoreTraffic{}

// Contacts implements TrafficSource.
func (s StoreTraffic) Contacts(ctx context.Context, since time.Time) ([]Contact, error) {
	page := s.PageSize
	if page <= 0 || page > store.MaxLimit {
		page = store.MaxLimit
	}
	var out []Contact
	for off := 0; ; off += page {
		ds, err := s.R.Devices(ctx, store.Filter{Since: since, Concern: true, Limit: page, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("fleet: store: devices: %w", err)
		}
		for _, d := range ds {
			for _, e := range d.Exposures {
				if e.Entity != "" && !e.Last.Before(since) {
					out = append(out, Contact{Device: d.Device.ID, Name: d.Device.Name, Entity: e.Entity, Role: e.Role, Last: e.Last, Via: "flows"})
				}
			}
		}
		if len(ds) < page {
			break
		}
	}
	ovs, err := s.R.Overdue(ctx, store.Filter{Since: since, Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("fleet: store: overdue clients: %w", err)
	}
	for _, o := range ovs {
		for _, e := range o.Entities {
			out = append(out, Contact{Device: o.Client, Name: o.Name, Entity: e, Last: o.Last, Via: "dns"})
		}
	}
	return out, nil
}

// storeVerdict is the word the store keeps for an app's state: fleet
// check's own (compliant, due, overdue), so that the dashboard says what
// the CLI says, and "removed".
func storeVerdict(a *App) string {
	switch {
	case a.Removed != nil:
		return "removed"
	case a.Verdict == Due:
		return "due"
	case a.Verdict == Overdue:
		return "overdue"
	}
	return "compliant"
}

// Batch is what a check writes to the store: every device (so that the
// dashboard counts compliant ones too), the banned apps with their
// verdicts, their entities and the block rules.
func (c *Checker) Batch(rep *Report) *store.Batch {
	b := &store.Batch{}
	listed := make(map[string]*Device, len(rep.Devices))
	for i := range rep.Devices {
		listed[rep.Devices[i].Device] = &rep.Devices[i]
	}
	seenEnt := map[string]bool{}
	for _, d := range c.order {
		sd := store.Device{ID: d.id, Name: d.name, Owner: d.owner, Platform: d.platform}
		dev := listed[d.id]
		if dev == nil {
			b.Devices = append(b.Devices, sd)
			continue
		}
		sd.Group = dev.Group
		b.Devices = append(b.Devices, sd)
		for i := range dev.Apps {
			a := &dev.Apps[i]
			if a.AppID == "" {
				continue // a traffic flag, not an inventory row
			}
			seen := rep.Generated
			if a.Removed != nil && !a.Removed.IsZero() {
				seen = *a.Removed
			}
			b.Inventory = append(b.Inventory, store.InventoryItem{Device: d.id, Group: dev.Group, App: a.AppID, Version: a.Version,
				Entity: a.Entity, Verdict: storeVerdict(a), Rule: a.Rule, Seen: seen, Source: a.Source})
			if !seenEnt[a.Entity] {
				seenEnt[a.Entity] = true
				if e := c.at.Index().Entities[a.Entity]; e != nil {
					b.Entities = append(b.Entities, storeEntity(e))
				}
			}
		}
	}
	for _, r := range c.pol.Rules {
		sr := store.Rule{ID: r.ID, Action: r.Action.String(), Basis: r.Basis, Deadline: r.Effective,
			Groups: r.Groups, Entities: r.Entities, Lists: r.Lists}
		b.Rules = append(b.Rules, sr)
	}
	return b
}

// storeEntity is what the store keeps of an entity; the jurisdiction is
// the controlling owner's, beside the registered one.
func storeEntity(e *catalog.Entity) store.Entity { return entityrec.Of(e) }
