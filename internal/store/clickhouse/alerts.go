package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/outflow-dev/outflow/internal/store"
)

var (
	_ store.Alerts   = (*DB)(nil)
	_ store.Bypasses = (*DB)(nil)
)

// WriteAlerts stores alerts as one batch (spooled like any batch while
// the server is away). IDs continue from the largest the store holds when
// it was opened, as audits' do: one writer per store numbers them.
func (d *DB) WriteAlerts(ctx context.Context, as []store.Alert) error {
	if len(as) == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	r := d.newRows(ctx)
	for i := range as {
		a := &as[i]
		r.add("alert", d.alertN+int64(i)+1, ms(a.Time), a.Kind, a.Site, a.Device, a.Entity, a.EntityName, a.Jurisdiction, a.Rule,
			ms(a.Deadline), a.Evidence, a.Bytes, a.Summary)
	}
	err := d.deliver(ctx, r.p, nil)
	r.recycle()
	// the IDs are used even when the server refused the batch: it may
	// hold some of its rows, which a later alert must not collide with
	d.alertN += int64(len(as))
	if err != nil {
		d.m.errs.Inc()
		return fmt.Errorf("clickhouse: %s: alerts: %w", d.cfg, err)
	}
	return nil
}

// Alerts returns the kept alerts in the filter's period, newest first,
// selected by device, entity and rule; see store.Alerts.
func (d *DB) Alerts(ctx context.Context, f store.Filter) ([]store.Alert, error) {
	p := d.period(&f)
	c := []string{"t >= ? AND t < ?"}
	if len(f.Devices) > 0 {
		c = append(c, inList("dev", f.Devices))
	}
	if len(f.Entities) > 0 {
		c = append(c, inList("ent", f.Entities))
	}
	if len(f.Rules) > 0 {
		c = append(c, inList("rule", f.Rules))
	}
	lim, off := limit(&f)
	out := []store.Alert{}
	err := d.query(ctx, "SELECT id, t, kind, site, dev, ent, ent_name, jur, rule, deadline, evidence, bytes, summary FROM "+d.t("alert")+
		" WHERE "+and(c...)+" ORDER BY t DESC, id DESC LIMIT ? OFFSET ?", func(r driver.Rows) error {
		var a store.Alert
		var t, dl int64
		if err := r.Scan(&a.ID, &t, &a.Kind, &a.Site, &a.Device, &a.Entity, &a.EntityName, &a.Jurisdiction, &a.Rule, &dl, &a.Evidence,
			&a.Bytes, &a.Summary); err != nil {
			return err
		}
		a.Time, a.Deadline = tm(t), tm(dl)
		out = append(out, a)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}

// bypass adds one Batch.Bypass row; rows of the same device, kind, peer,
// port and proto are summed when read.
func (r *rows) bypass(b *store.Bypass) error {
	if b.Device == "" || b.Kind == "" || b.Peer == "" {
		return errors.New("no device, kind or peer")
	}
	if b.First.IsZero() {
		return errors.New("no time seen")
	}
	ev := []byte("[]")
	if b.Evidence != nil {
		var err error
		if ev, err = json.Marshal(b.Evidence); err != nil {
			return err
		}
	}
	first, last := ms(b.First), ms(b.Last)
	if b.Last.IsZero() || last < first {
		last = first
	}
	r.add("bypass", b.Device, b.Kind, b.Peer, b.Port, b.Proto, b.Name, b.Service, b.Owner, b.OwnerName, string(ev),
		b.Flows, b.BytesOut, b.BytesIn, first, last, b.Source, r.seq())
	return nil
}

// Bypass returns the kept bypass rows seen in the filter's period, most
// recently seen first, selected by device and owner; see store.Bypasses.
// Each is the sum of its writes, with the facts of the newest.
func (d *DB) Bypass(ctx context.Context, f store.Filter) ([]store.Bypass, error) {
	p := d.period(&f)
	c := []string{"1"}
	if len(f.Devices) > 0 {
		c = append(c, inList("dev", f.Devices))
	}
	having := []string{"l >= ? AND f < ?"}
	if len(f.Entities) > 0 {
		having = append(having, inList("o", f.Entities))
	}
	newest := func(col string) string { return "argMaxIf(" + col + ", (last, seq), " + col + " != '')" }
	lim, off := limit(&f)
	out := []store.Bypass{}
	err := d.query(ctx, "SELECT dev, kind, peer, port, proto, "+newest("name")+", "+newest("service")+", "+newest("owner")+" AS o, "+
		newest("owner_name")+", argMax(evidence, (last, seq)), sum(n), sum(bo), sum(bi), min(first) AS f, max(last) AS l, "+newest("source")+
		" FROM "+d.t("bypass")+" WHERE "+and(c...)+" GROUP BY dev, kind, peer, port, proto HAVING "+and(having...)+
		" ORDER BY l DESC, dev, kind, peer, port, proto LIMIT ? OFFSET ?", func(r driver.Rows) error {
		var b store.Bypass
		var ev string
		var first, last int64
		if err := r.Scan(&b.Device, &b.Kind, &b.Peer, &b.Port, &b.Proto, &b.Name, &b.Service, &b.Owner, &b.OwnerName, &ev,
			&b.Flows, &b.BytesOut, &b.BytesIn, &first, &last, &b.Source); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(ev), &b.Evidence); err != nil {
			return fmt.Errorf("bypass %s %s: evidence: %w", b.Device, b.Peer, err)
		}
		b.First, b.Last = tm(first), tm(last)
		out = append(out, b)
		return nil
	}, max(p.lo, -1<<62), p.hi, lim, off)
	return out, err
}
