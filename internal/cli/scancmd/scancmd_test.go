package scancmd

import (
	"bufio"
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

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/demo"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func runScan(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(&errb, nil)),
		Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }}
	return Run(context.Background(), env, args), out.String(), errb.String()
}

func demoCapture(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "office.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if _, err := demo.Write(bw, demo.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	f.Close()
	return p
}

func TestExitCodes(t *testing.T) {
	office := demoCapture(t)
	quiet := filepath.Join(t.TempDir(), "quiet.pcap")
	f, _ := os.Create(quiet)
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	f.Close()
	if code, out, errs := runScan(t, office); code != cli.ExitConcern || !strings.Contains(out, "ana-laptop") {
		t.Errorf("demo: exit %d, want 3\n%s%s", code, out, errs)
	}
	if code, out, _ := runScan(t, quiet); code != cli.ExitOK || !strings.Contains(out, "No device talked to an entity of concern") {
		t.Errorf("empty capture: exit %d\n%s", code, out)
	}
	if code, _, _ := runScan(t); code != cli.ExitFailure {
		t.Errorf("no arguments: exit %d, want 1", code)
	}
	if code, _, _ := runScan(t, "--json", "--csv", office); code != cli.ExitFailure {
		t.Errorf("--json --csv: exit %d, want 1", code)
	}
	if code, _, errs := runScan(t, filepath.Join(t.TempDir(), "missing.pcap")); code != cli.ExitInput || !strings.Contains(errs, "missing.pcap") {
		t.Errorf("missing file: exit %d: %s", code, errs)
	}
}

func TestTruncatedCaptureReportsWhatWasRead(t *testing.T) {
	office := demoCapture(t)
	b, _ := os.ReadFile(office)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, b[:len(b)*2/3+7], 0o644)
	code, out, errs := runScan(t, "--json", cut)
	if code != cli.ExitInput {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errs, "cut.pcap: packet ") || !strings.Contains(errs, "byte offset") {
		t.Errorf("stderr does not name the file, packet and offset: %s", errs)
	}
	var rep struct {
		Devices  []struct{ Address string }
		Warnings []string
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Devices) == 0 || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "cut.pcap") {
		t.Errorf("report of what was read: %d devices, warnings %v", len(rep.Devices), rep.Warnings)
	}
}

func TestUnknownLinkType(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ble.pcap")
	f, _ := os.Create(p)
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, layers.LinkType(251)) // Bluetooth LE LL
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 4, Length: 4}, []byte{1, 2, 3, 4})
	f.Close()
	code, _, errs := runScan(t, p)
	if code != cli.ExitInput || !strings.Contains(errs, "unsupported link type 251") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestJSONAndCSVShapes(t *testing.T) {
	office := demoCapture(t)
	_, out, _ := runScan(t, "--json", office)
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	devs := rep["devices"].([]any)
	var laptop map[string]any
	for _, d := range devs {
		if d.(map[string]any)["hostname"] == "ana-laptop" {
			laptop = d.(map[string]any)
		}
	}
	if laptop == nil {
		t.Fatal("no ana-laptop device")
	}
	for _, k := range []string{"address", "mac", "vendor", "exposures"} {
		if _, ok := laptop[k]; !ok {
			t.Errorf("device lacks %s", k)
		}
	}
	exp := laptop["exposures"].([]any)[0].(map[string]any)
	for _, k := range []string{"entity", "owner_chain", "role", "lists", "bytes_out", "bytes_in", "packets_out", "packets_in", "flows", "first_seen", "last_seen", "evidence"} {
		if _, ok := exp[k]; !ok {
			t.Errorf("exposure lacks %s", k)
		}
	}
	ev := exp["evidence"].([]any)[0].(map[string]any)
	for _, k := range []string{"kind", "value", "source"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence lacks %s", k)
		}
	}
	for _, k := range []string{"totals", "warnings"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %s", k)
		}
	}
	_, out, _ = runScan(t, "--csv", office)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 6 || rows[0][0] != "device" {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
}

func TestLocalFlag(t *testing.T) {
	office := demoCapture(t)
	// Saying only 10.0.0.0/8 is inside makes the office's devices "outside":
	// devices are then the initiators, and the report still names them.
	code, out, _ := runScan(t, "--local", "10.0.0.0/8", office)
	if code != cli.ExitConcern || !strings.Contains(out, "192.168.50.10") {
		t.Errorf("exit %d\n%.300s", code, out)
	}
	if code, _, _ := runScan(t, "--local", "not-a-cidr", office); code != cli.ExitFailure {
		t.Errorf("bad --local: exit %d", code)
	}
}

// What a user reads and what a script takes in are the same with the
// scan on one goroutine and pipelined, on all the shared captures in one
// run (names learnt in one file reach the next).
func TestWorkersSameOutput(t *testing.T) {
	dir := sharedtest.Path(t, "pcap")
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("%d captures in %s", len(files), dir)
	}
	for _, format := range [][]string{{"--all"}, {"--json", "--all"}, {"--csv"}} {
		args := append(format, files...)
		code1, one, errs := runScan(t, append([]string{"--workers", "1", "--no-progress"}, args...)...)
		if code1 != cli.ExitConcern {
			t.Fatalf("%v: exit %d, want 3: %s", format, code1, errs)
		}
		code2, two, _ := runScan(t, append([]string{"--workers", "2", "--no-progress"}, args...)...)
		if code2 != code1 || two != one {
			t.Errorf("%v: --workers 2 (exit %d) differs from --workers 1 (exit %d):\n%s", format, code2, code1, firstDiff(one, two))
		}
	}
}

func TestAutoWorkers(t *testing.T) {
	for _, tc := range []struct {
		bytes int64
		cpus  int
		want  int
	}{
		{1 << 20, 8, 1},   // a small capture: no pipeline
		{200 << 20, 1, 1}, // one CPU
		{16 << 20, 2, 2},  // the threshold
		{200 << 20, 4, 4},
	} {
		if got := autoWorkers(tc.bytes, tc.cpus); got != tc.want {
			t.Errorf("autoWorkers(%d, %d) = %d, want %d", tc.bytes, tc.cpus, got, tc.want)
		}
	}
}
