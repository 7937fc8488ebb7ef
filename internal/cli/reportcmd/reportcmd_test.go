package reportcmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/demo"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

var now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(&errb, nil)),
		Now: func() time.Time { return now }}
	return Run(context.Background(), env, args), out.String(), errb.String()
}

// scanDemo scans the demo capture, writing the flows to a store, and
// returns the store's path and the report's JSON file.
func scanDemo(t *testing.T) (dbPath, jsonPath string) {
	t.Helper()
	dir := t.TempDir()
	capPath := filepath.Join(dir, "office.pcap")
	var buf bytes.Buffer
	if _, err := demo.Write(&buf, demo.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ix, err := catalog.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(dir, "outflow.db")
	db, err := sqlite.Open(ctx, store.Config{Path: dbPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed := scanfeed.New(ctx, db, "office.pcap")
	cfg := scan.DefaultConfig()
	cfg.OnFlow = feed.Flow
	s := scan.New(cfg, attribute.New(ix))
	if err := s.ReadFile(ctx, capPath); err != nil {
		t.Fatal(err)
	}
	rep := s.Finish(now)
	if _, err := feed.Close(rep); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	jsonPath = filepath.Join(dir, "scan.json")
	if err := os.WriteFile(jsonPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dbPath, jsonPath
}

func TestReport(t *testing.T) {
	dbPath, jsonPath := scanDemo(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"store", []string{"--store", dbPath}},
		{"from scan", []string{"--from-scan", jsonPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			htmlPath := filepath.Join(dir, tc.name+".html")
			csvPath := filepath.Join(dir, tc.name+".csv")
			code, _, stderr := run(t, append(tc.args, "--html", htmlPath, "--csv", csvPath, "--since", "2026-01-01")...)
			if code != cli.ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			html, err := os.ReadFile(htmlPath)
			if err != nil {
				t.Fatal(err)
			}
			// The demo is dated 2026-03-02 and the clock says November:
			// the period ends at the newest data, as the dashboard's does.
			for _, want := range []string{"TikTok Pte. Ltd.", "192.168.50.10", "ana-laptop", "<svg class=\"worldmap\"", "to <b>2026-03-02</b>"} {
				if !bytes.Contains(html, []byte(want)) {
					t.Errorf("HTML lacks %q", want)
				}
			}
			f, err := os.Open(csvPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) < 2 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
				t.Fatalf("CSV %v", rows)
			}
			found := false
			for _, r := range rows[1:] {
				found = found || r[0] == "192.168.50.10" && r[4] == "tiktok" && r[6] == "CN"
			}
			if !found {
				t.Errorf("no row for the TikTok laptop (owner jurisdiction CN): %v", rows)
			}
		})
	}
	t.Run("entity selection", func(t *testing.T) {
		code, out, stderr := run(t, "--store", dbPath, "--csv", "-", "--entity", "dji", "--since", "2026-01-01")
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 2 {
			t.Fatalf("no DJI rows: %v", rows)
		}
		for _, r := range rows[1:] {
			if r[4] != "dji" {
				t.Errorf("row of another entity: %v", r)
			}
		}
	})
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no output", []string{"--store", "x.db"}, cli.ExitFailure, "usage"},
		{"both to stdout", []string{"--html", "-", "--csv", "-"}, cli.ExitFailure, "standard output"},
		{"two inputs", []string{"--store", "a", "--from-scan", "b", "--csv", "-"}, cli.ExitFailure, "exclude"},
		{"bad since", []string{"--since", "yesterday", "--csv", "-"}, cli.ExitFailure, "--since"},
		{"since after until", []string{"--since", "2026-05-01", "--until", "2026-04-01", "--csv", "-"}, cli.ExitFailure, "before"},
		{"missing store", []string{"--store", filepath.Join(t.TempDir(), "none.db"), "--csv", "-"}, cli.ExitInput, "none.db"},
		{"not a scan", []string{"--from-scan", "reportcmd.go", "--csv", "-"}, cli.ExitInput, "not a scan report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.msg)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	ref := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-05-01", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-05-01T10:00:00+02:00", time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)},
		{"24h", ref.Add(-24 * time.Hour)},
		{"7d", ref.Add(-7 * 24 * time.Hour)},
		{"2w", ref.Add(-14 * 24 * time.Hour)},
	} {
		got, err := parseWhen(tc.in, ref, ref)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x", "7y", "-1d", "d"} {
		if _, err := parseWhen(bad, ref, ref); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}
