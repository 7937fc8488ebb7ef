package web

import (
	"context"
	"net/url"

	"github.com/outflow-dev/outflow/internal/store"
)

// findings are the per-device findings a backend may keep besides the
// Store interface (store.Alerts, store.Bypasses), for a page section.
// Kept is false when the backend keeps none: the section is not shown.
type findings[T any] struct {
	Kept bool
	Rows []T
	Q    url.Values // the selection to keep in links
}

// pageFindings asks the store for the alerts and the bypass rows of f.
// They are small tables, read without the result cache: an alert shows
// as soon as the sensor stored it.
func (s *Server) pageFindings(ctx context.Context, f store.Filter, q url.Values) (findings[store.Alert], findings[store.Bypass], error) {
	al, by := findings[store.Alert]{Q: q}, findings[store.Bypass]{Q: q}
	var err error
	if as, ok := s.r.(store.Alerts); ok {
		al.Kept = true
		if al.Rows, err = as.Alerts(ctx, f); err != nil {
			return al, by, err
		}
	}
	if bs, ok := s.r.(store.Bypasses); ok {
		by.Kept = true
		// bypass rows have no rule: a rule selection would hide none
		bf := f
		bf.Rules = nil
		if by.Rows, err = bs.Bypass(ctx, bf); err != nil {
			return al, by, err
		}
	}
	return al, by, nil
}
