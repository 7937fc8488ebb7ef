package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
)

var _ store.Bypasses = (*DB)(nil)

// bypass upserts one Batch.Bypass row: the same device, kind, peer, port
// and proto widen first and last and add up; the newer row's facts win.
func (w *wtx) bypass(b *store.Bypass) error {
	if b.Device == "" || b.Kind == "" || b.Peer == "" {
		return errors.New("no device, kind or peer")
	}
	if b.First.IsZero() {
		return errors.New("no time seen")
	}
	ev, err := json.Marshal(b.Evidence)
	if err != nil {
		return err
	}
	if b.Evidence == nil {
		ev = []byte("[]")
	}
	first, last := b.First.UnixMilli(), b.Last.UnixMilli()
	if b.Last.IsZero() || last < first {
		last = first
	}
	newer := func(col string) string {
		return col + " = CASE WHEN excluded.last >= last AND excluded." + col + " != '' THEN excluded." + col + " ELSE " + col + " END"
	}
	_, err = w.exec("INSERT INTO bypass(device, kind, peer, port, proto, name, service, owner, owner_name, evidence, n, bo, bi, first, last, source) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(device, kind, peer, port, proto) DO UPDATE SET "+
		strings.Join([]string{newer("name"), newer("service"), newer("owner"), newer("owner_name"), newer("source"),
			"evidence = CASE WHEN excluded.last >= last THEN excluded.evidence ELSE evidence END",
			"n = n + excluded.n", "bo = bo + excluded.bo", "bi = bi + excluded.bi",
			"first = min(first, excluded.first)", "last = max(last, excluded.last)"}, ", "),
		b.Device, b.Kind, b.Peer, int64(b.Port), b.Proto, b.Name, b.Service, b.Owner, b.OwnerName, string(ev),
		int64(min(b.Flows, 1<<62)), int64(min(b.BytesOut, 1<<62)), int64(min(b.BytesIn, 1<<62)), first, last, b.Source)
	return err
}

// Bypass returns the kept bypass rows seen in the filter's period, most
// recently seen first, selected by device and owner entity.
func (d *DB) Bypass(ctx context.Context, f store.Filter) ([]store.Bypass, error) {
	p := d.period(&f)
	lim, off := limit(&f)
	q := strings.Builder{}
	q.WriteString(`SELECT device, kind, peer, port, proto, name, service, owner, owner_name, evidence, n, bo, bi, first, last, source
		FROM bypass WHERE last >= ? AND first < ?`)
	args := []any{p.lo, p.hi}
	args = andIn(&q, args, "device", f.Devices)
	args = andIn(&q, args, "owner", f.Entities)
	q.WriteString(" ORDER BY last DESC, device, kind, peer, port, proto LIMIT ? OFFSET ?")
	args = append(args, lim, off)
	rows, err := d.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: bypass: %w", d.path, err)
	}
	defer rows.Close()
	out := []store.Bypass{}
	for rows.Next() {
		var b store.Bypass
		var port, n, bo, bi, first, last int64
		var ev string
		if err := rows.Scan(&b.Device, &b.Kind, &b.Peer, &port, &b.Proto, &b.Name, &b.Service, &b.Owner, &b.OwnerName, &ev,
			&n, &bo, &bi, &first, &last, &b.Source); err != nil {
			return nil, fmt.Errorf("sqlite: %s: bypass: %w", d.path, err)
		}
		if err := json.Unmarshal([]byte(ev), &b.Evidence); err != nil {
			return nil, fmt.Errorf("sqlite: %s: bypass %s %s: evidence: %w", d.path, b.Device, b.Peer, err)
		}
		b.Port, b.Flows, b.BytesOut, b.BytesIn = uint16(port), uint64(n), uint64(bo), uint64(bi)
		b.First, b.Last = tm(first), tm(last)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: bypass: %w", d.path, err)
	}
	return out, nil
}
