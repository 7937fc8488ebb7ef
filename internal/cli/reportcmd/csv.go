package reportcmd

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/render"
	"github.com/outflow-dev/outflow/internal/safetext"
	"github.com/outflow-dev/outflow/internal/store"
)

var csvHeader = []string{"device", "device_name", "group", "mac", "entity", "entity_name", "jurisdiction", "lists", "role",
	"bytes_out", "bytes_in", "packets_out", "packets_in", "flows", "first_seen", "last_seen", "queries", "queries_blocked",
	"registered_jurisdiction"}

// writeCSV writes one row per device and entity of concern in the period.
func writeCSV(ctx context.Context, w io.Writer, r store.Reader, f store.Filter) error {
	ents, err := r.Entities(ctx)
	if err != nil {
		return err
	}
	byID := map[string]store.Entity{}
	for _, e := range ents {
		byID[e.ID] = e
	}
	df := f
	df.Limit = store.MaxLimit
	devs, err := r.Devices(ctx, df)
	if err != nil {
		return err
	}
	cw := safetext.NewCSVWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, d := range devs {
		for _, x := range d.Exposures {
			e := byID[x.Entity]
			marked := make([]string, len(e.Lists))
			for i, l := range e.Lists {
				marked[i] = render.List(l, slices.Contains(e.Unverified, l))
			}
			lists := strings.Join(marked, ";")
			if err := cw.Write([]string{d.Device.ID, d.Device.Name, d.Device.Group, d.Device.MAC, x.Entity, e.Name, e.Jurisdiction, lists, x.Role,
				u(x.BytesOut), u(x.BytesIn), u(x.PacketsOut), u(x.PacketsIn), u(x.Flows), ts(x.First), ts(x.Last), u(d.Queries), u(d.Blocked),
				e.Registered}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
