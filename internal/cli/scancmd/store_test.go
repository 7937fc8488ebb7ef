package scancmd

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// TestScanStore checks that scan --store writes the scan's devices and
// exposures to the store, with the same bytes as the report.
func TestScanStore(t *testing.T) {
	capPath := demoCapture(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	code, _, stderr := runScan(t, "--store", dbPath, "--json", capPath)
	if code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	db, err := sqlite.OpenReadOnly(ctx, store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dd, err := db.Device(ctx, "192.168.50.10", store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if dd.Device.Name != "ana-laptop" || len(dd.Exposures) == 0 || dd.Exposures[0].Entity != "tiktok" || len(dd.Exposures[0].Evidence) == 0 {
		t.Errorf("laptop in the store: %+v", dd)
	}
	if code, _, stderr := runScan(t, "--store", filepath.Join(t.TempDir(), "bad?.db"), capPath); code != cli.ExitFailure {
		t.Errorf("bad store path: exit %d: %s", code, stderr)
	}
}
