// Package backend opens the store a command names: the embedded SQLite
// file by default, or a ClickHouse server or cluster for a
// clickhouse://HOST:PORT/DB URL. It also registers the --store flag every
// command that reads or writes the store shares.
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
	"github.com/outflow-dev/outflow/internal/store/clickhouse"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// Flag registers --store on fs. An empty value means store.DefaultPath.
func Flag(fs *flag.FlagSet) *string {
	return fs.String("store", "", "store database file, or clickhouse://HOST:PORT/DB[?cluster=NAME] (default: outflow/outflow.db in the user's data directory)")
}

// scheme is the URL scheme of path ("" for a file path).
func scheme(path string) string {
	if i := strings.Index(path, "://"); i > 0 && !strings.HasPrefix(path, "file://") {
		return path[:i]
	}
	return ""
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
	switch s := scheme(cfg.Path); s {
	case "":
	case "clickhouse":
		return openClickHouse(ctx, cfg, log)
	default:
		return nil, fmt.Errorf("store: %s: no backend for scheme %q in this build (clickhouse:// or a file)", cfg.Path, s)
	}
	db, err := sqlite.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return db, nil
}

func openClickHouse(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	c, err := clickhouse.ParseURL(cfg.Path, cfg)
	if err != nil {
		return nil, err
	}
	db, err := clickhouse.Open(ctx, c, log, clickhouse.Options{})
	if err != nil {
		return nil, err
	}
	return db, nil
}

// OpenReadOnly opens an existing store for reading only; it fails when the
// file does not exist rather than creating an empty store. A ClickHouse
// store is opened as for writing (its migrations applied): readers and
// writers share the server.
func OpenReadOnly(ctx context.Context, cfg store.Config, log *slog.Logger) (store.Store, error) {
	if cfg.Path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		cfg.Path = p
	}
	if scheme(cfg.Path) != "" {
		return Open(ctx, cfg, log)
	}
	db, err := sqlite.OpenReadOnly(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return db, nil
}
