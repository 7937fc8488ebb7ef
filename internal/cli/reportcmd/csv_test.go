package reportcmd

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// TestCSVFormulaName reports on a store holding a device whose DHCP name
// is a spreadsheet formula: the cell must read back as text.
func TestCSVFormulaName(t *testing.T) {
	const evil = `=HYPERLINK("http://x","y")`
	dbPath := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	b := &store.Batch{
		Entities: []store.Entity{{ID: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "CN"}},
		Devices:  []store.Device{{ID: "192.168.1.9", Name: evil, Group: "@SUM(1+1)"}},
		Flows: []store.Flow{{First: at, Last: at.Add(time.Minute), Device: "192.168.1.9", Peer: "71.18.8.1", Entity: "tiktok",
			Traffic: store.Traffic{BytesOut: 100, BytesIn: 200, PacketsOut: 1, PacketsIn: 2, Flows: 1}}},
	}
	if err := db.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "--store", dbPath, "--csv", "-", "--since", "2026-01-01")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("want one row: %v", rows)
	}
	if got := rows[1][1]; got != "'"+evil {
		t.Errorf("device_name %q, want %q", got, "'"+evil)
	}
	if got := rows[1][2]; got != "'@SUM(1+1)" {
		t.Errorf("group %q, want a leading quote", got)
	}
	if got := rows[1][9]; got != "100" {
		t.Errorf("bytes_out %q: numbers must stay numbers", got)
	}
}
