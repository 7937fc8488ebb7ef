package alertfeed

import (
	"context"
	"time"

	"github.com/outflow-dev/outflow/internal/alert"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/store"
)

// StoreSink is an alert.Sink that keeps alerts in a store (for the
// dashboard's list and /api/alerts). A failed write is retried by the
// notifier like any sink's.
type StoreSink struct{ W store.Alerts }

var _ alert.Sink = StoreSink{}

// Name names the sink in metrics.
func (StoreSink) Name() string { return "store" }

// Send writes one alert.
func (s StoreSink) Send(ctx context.Context, a *alert.Alert) error {
	return s.W.WriteAlerts(ctx, []store.Alert{Row(a)})
}

// Close does nothing: the store belongs to the caller.
func (StoreSink) Close() error { return nil }

// Row is the store's row of an alert; the device is named as the store
// names it (SITE/ADDRESS under a site).
func Row(a *alert.Alert) store.Alert {
	r := store.Alert{Time: a.Time, Kind: string(a.Kind), Site: a.Site, Device: flowrec.DeviceID(a.Site, a.Device), Entity: a.Entity,
		EntityName: a.EntityName, Jurisdiction: a.Jurisdiction, Rule: a.Rule, Deadline: a.Deadline, Bytes: a.Bytes, Summary: a.Text()}
	if len(a.Evidence) > 0 {
		r.Evidence = a.Evidence[0].Kind + " " + a.Evidence[0].Value
	}
	return r
}

// SeedLookback is how far back Seed reads the store: a device that talked
// to an entity within it is not a first contact after a restart.
const SeedLookback = 400 * 24 * time.Hour

// Seed remembers the device-entity pairs the store has seen since
// now - SeedLookback, so that a restarted sensor (or one joining a store
// others fill) raises a first contact only for a pair that is new. Device
// IDs that are not SITE/ADDRESS or ADDRESS (inventory IDs) are skipped.
// It returns how many pairs it remembered.
func (d *Detector) Seed(ctx context.Context, r store.Store, now time.Time) (int, error) {
	devs, err := r.Devices(ctx, store.Filter{Since: now.Add(-SeedLookback), Until: now.Add(time.Hour)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, dv := range devs {
		site, a, ok := flowrec.ParseDeviceID(dv.Device.ID)
		if !ok {
			continue
		}
		for _, e := range dv.Exposures {
			if e.Entity == "" || len(d.pairs) >= d.cfg.MaxPairs {
				continue
			}
			pk := pairKey{site: site, dev: a, entity: e.Entity}
			if _, ok := d.pairs[pk]; !ok {
				d.pairs[pk] = struct{}{}
				n++
			}
		}
	}
	return n, nil
}
