package alertfeed

import (
	"context"

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
