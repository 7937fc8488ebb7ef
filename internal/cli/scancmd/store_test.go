package scancmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// storeTotals opens the store read-only and sums what a report sums.
func storeTotals(t *testing.T, dbPath string) (flows, bytes uint64, rows int64) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenReadOnly(ctx, store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ov, err := db.Overview(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ov.Entities {
		flows += e.Period.Flows
		bytes += e.Period.BytesOut
	}
	in, err := db.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return flows, bytes, in.Flows
}

// TestScanStoreOnce: scanning the same capture into a store twice is
// refused with a message naming the file and when it was stored, and
// leaves the totals as they were; --again stores it a second time.
func TestScanStoreOnce(t *testing.T) {
	capPath := demoCapture(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	if code, _, stderr := runScan(t, "--store", dbPath, capPath); code != cli.ExitConcern {
		t.Fatalf("first scan: exit %d: %s", code, stderr)
	}
	f1, b1, _ := storeTotals(t, dbPath)
	if f1 == 0 || b1 == 0 {
		t.Fatalf("nothing stored: %d flows, %d bytes", f1, b1)
	}
	code, _, stderr := runScan(t, "--store", dbPath, capPath)
	if code != cli.ExitFailure || !strings.Contains(stderr, capPath+" was already ingested on ") || !strings.Contains(stderr, "--again") {
		t.Fatalf("second scan: exit %d: %s", code, stderr)
	}
	// (detail rows are not compared: opening the store prunes those
	// past the default 90-day retention, and the demo is older)
	if f, b, _ := storeTotals(t, dbPath); f != f1 || b != b1 {
		t.Errorf("refused scan changed the totals: %d flows, %d bytes; want %d, %d", f, b, f1, b1)
	}
	// with another new input, the known one still refuses the whole run
	other := filepath.Join(t.TempDir(), "empty.pcap")
	os.WriteFile(other, []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, 0o600)
	if code, _, stderr := runScan(t, "--store", dbPath, other, capPath); code != cli.ExitFailure || !strings.Contains(stderr, capPath) {
		t.Errorf("scan with a known input: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runScan(t, "--store", dbPath, "--again", capPath); code != cli.ExitConcern {
		t.Fatalf("--again: exit %d: %s", code, stderr)
	}
	if f, b, _ := storeTotals(t, dbPath); f != 2*f1 || b != 2*b1 {
		t.Errorf("after --again: %d flows, %d bytes; want twice %d, %d", f, b, f1, b1)
	}
}

// TestScanStoreBypass: the demo laptop's DoH to 1.1.1.1, in the report's
// bypass list, is in the store after scan --store.
func TestScanStoreBypass(t *testing.T) {
	capPath := demoCapture(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	if code, _, stderr := runScan(t, "--store", dbPath, capPath); code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	db, err := sqlite.OpenReadOnly(ctx, store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs, err := db.Bypass(ctx, store.Filter{Devices: []string{"192.168.50.10"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 {
		t.Fatalf("bypass rows %+v, want the laptop's DoH", bs)
	}
	b := bs[0]
	if b.Kind != "doh" || b.Peer != "1.1.1.1" || b.Owner != "cloudflare" || len(b.Evidence) == 0 || b.Evidence[0].Kind != "tls-sni" ||
		b.First.IsZero() || b.Source != filepath.Base(capPath) && b.Source != capPath {
		t.Errorf("laptop's bypass in the store: %+v", b)
	}
}

// scan --store gets the flows from the goroutine that sums them when
// pipelined: the store holds the same sums at --workers 1 and 2.
func TestScanStoreWorkers(t *testing.T) {
	capPath := demoCapture(t)
	type totals struct {
		flows, bytes uint64
		rows         int64
	}
	var got []totals
	for _, w := range []string{"1", "2"} {
		dbPath := filepath.Join(t.TempDir(), "s"+w+".db")
		if code, _, stderr := runScan(t, "--workers", w, "--store", dbPath, capPath); code != cli.ExitConcern {
			t.Fatalf("--workers %s: exit %d: %s", w, code, stderr)
		}
		f, b, r := storeTotals(t, dbPath)
		got = append(got, totals{f, b, r})
	}
	if got[0] != got[1] || got[0].rows == 0 {
		t.Errorf("store totals at --workers 1 and 2: %+v", got)
	}
}
