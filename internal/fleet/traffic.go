package fleet

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy"
)

// Contact is a device reaching an entity, as the store recorded it.
type Contact struct {
	Device string    // how the store names the device: an address or an inventory id
	Name   string    // the device's host or inventory name, if known
	Entity string    // catalog entity id (the flow's or query's owner entity)
	Role   string    // the entity's role for the traffic: app-owner, host, carrier...
	Last   time.Time // the last time seen
	Via    string    // "flows" or "dns"
}

// TrafficSource is what the check asks of the store: which devices
// reached which entities since a time.
type TrafficSource interface {
	Contacts(ctx context.Context, since time.Time) ([]Contact, error)
}

// TrafficSince is the earliest deadline already passed among the block
// rules: traffic before it cannot be after a deadline. ok is false when no
// deadline has passed (nothing to ask the store). A rule in force with no
// deadline counts from the beginning (zero time).
func (c *Checker) TrafficSince() (since time.Time, ok bool) {
	now := c.cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, r := range c.pol.Rules {
		if r.Action != policy.Block || r.Effective.After(now) {
			continue
		}
		if !ok || r.Effective.Before(since) {
			since, ok = r.Effective, true
		}
	}
	return since, ok
}

// LoadTraffic asks src for the traffic after the earliest passed deadline
// and keeps it for the report.
func (c *Checker) LoadTraffic(ctx context.Context, src TrafficSource) error {
	since, ok := c.TrafficSince()
	if !ok {
		return nil
	}
	cs, err := src.Contacts(ctx, since)
	if err != nil {
		return err
	}
	c.AddTraffic(cs)
	return nil
}

// AddTraffic keeps contacts for the report.
func (c *Checker) AddTraffic(cs []Contact) { c.contacts = append(c.contacts, cs...) }

// trafficByDevice matches the contacts to the inventory's devices by id or
// name (case-insensitive, or by the first label of a host name).
func (c *Checker) trafficByDevice() map[*device][]Contact {
	if len(c.contacts) == 0 {
		return nil
	}
	byKey := make(map[string]*device, len(c.order)*2)
	for _, d := range c.order {
		for _, k := range deviceKeys(d) {
			if _, dup := byKey[k]; !dup {
				byKey[k] = d
			}
		}
	}
	out := map[*device][]Contact{}
	for _, ct := range c.contacts {
		var d *device
		for _, s := range []string{ct.Device, ct.Name} {
			if s == "" {
				continue
			}
			s = strings.ToLower(s)
			if d = byKey[s]; d != nil {
				break
			}
			if i := strings.IndexByte(s, '.'); i > 0 && !isAddr(s) {
				if d = byKey[s[:i]]; d != nil {
					break
				}
			}
		}
		if d != nil {
			out[d] = append(out[d], ct)
		}
	}
	return out
}

func isAddr(s string) bool {
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") == 1 {
		s = s[:i] // adb over TCP: 192.168.1.20:5555
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// applyTraffic adds one contact to a device's report entry when a block
// rule in force at the contact's time covers its entity for the device:
// on the installed app of that rule it is more evidence; on a removed app
// (after the removal) or with no app at all it flags the device.
func (c *Checker) applyTraffic(dev *Device, m policy.Membership, ct Contact) {
	e := c.at.Index().Entities[ct.Entity]
	if e == nil {
		return
	}
	a := attribute.Attribution{Entity: e, Role: storeRole(ct.Role), Kind: attribute.None, Value: ct.Entity}
	v := c.pol.DecideFor(m, a, nil, ct.Last)
	if v.Action != policy.Block || (!v.Rule.Effective.IsZero() && !ct.Last.After(v.Rule.Effective)) {
		return
	}
	tr := &Traffic{Entity: ct.Entity, Last: ct.Last, Via: ct.Via}
	for i := range dev.Apps {
		ap := &dev.Apps[i]
		if ap.Rule != v.Rule.ID || !sameOwner(ap, e) {
			continue
		}
		if ap.Removed != nil && !ct.Last.After(*ap.Removed) {
			return // traffic from before the removal
		}
		if ap.Traffic == nil || ct.Last.After(ap.Traffic.Last) {
			ap.Traffic = tr
		}
		return
	}
	s := attribute.Summarize(a)
	ap := App{Entity: e.ID, EntityName: e.Name, OwnerChain: s.OwnerChain, Rule: v.Rule.ID, Basis: v.Rule.Basis,
		Verdict: Compliant, Traffic: tr}
	for _, l := range s.Lists {
		ap.Lists = append(ap.Lists, l.ID)
	}
	if !v.Rule.Effective.IsZero() {
		t := v.Rule.Effective
		ap.Deadline = &t
	}
	// Several contacts for one rule and entity make one entry.
	for i := range dev.Apps {
		if p := &dev.Apps[i]; p.AppID == "" && p.Rule == ap.Rule && p.Entity == ap.Entity {
			if ct.Last.After(p.Traffic.Last) {
				p.Traffic = tr
			}
			return
		}
	}
	dev.Apps = append(dev.Apps, ap)
}

// sameOwner reports whether an app's entity and e share an owner chain
// (TikTok's app and traffic to ByteDance's own domains are one concern).
func sameOwner(ap *App, e *catalog.Entity) bool {
	top := e.ID
	if len(e.Chain) > 0 {
		top = e.Chain[len(e.Chain)-1].ID
	}
	return len(ap.OwnerChain) > 0 && ap.OwnerChain[len(ap.OwnerChain)-1] == top
}

// storeRole maps the store's role words to the catalog's.
func storeRole(s string) catalog.Role {
	switch s {
	case "", "owner", "app-owner":
		return catalog.RoleService
	}
	return catalog.Role(s)
}
