// Package sqlite is the embedded store backend (work in progress).
package sqlite

import (
	"context"
	"errors"
	"log/slog"

	"github.com/outflow-dev/outflow/internal/store"
)

// Open opens or creates the store at cfg.Path.
func Open(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	return nil, errors.New("sqlite: not implemented yet")
}

// OpenReadOnly opens an existing store for reading.
func OpenReadOnly(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	return nil, errors.New("sqlite: not implemented yet")
}
