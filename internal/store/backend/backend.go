// Package backend opens the store a command names: the embedded SQLite
// file by default; a URL scheme will select another backend (clickhouse://)
// when one exists. It also registers the --store flag every command that
// reads or writes the store shares.
//
// It must never import a command, renderer or pipeline package.
package backend

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// Flag registers --store on fs. An empty value means store.DefaultPath.
func Flag(fs *flag.FlagSet) *string {
	return fs.String("store", "", "store database file (default: outflow/outflow.db in the user's data directory)")
}

// Open opens (creating and migrating it if needed) the store at
// cfg.Path, or at store.DefaultPath when cfg.Path is empty.
func Open(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		cfg.Path = p
	}
	if i := strings.Index(cfg.Path, "://"); i > 0 && !strings.HasPrefix(cfg.Path, "file://") {
		return nil, fmt.Errorf("store: %s: no backend for scheme %q in this build", cfg.Path, cfg.Path[:i])
	}
	db, err := sqlite.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// OpenReadOnly opens an existing store for reading only; it fails when the
// file does not exist rather than creating an empty store.
func OpenReadOnly(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	if cfg.Path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		cfg.Path = p
	}
	db, err := sqlite.OpenReadOnly(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return db, nil
}
