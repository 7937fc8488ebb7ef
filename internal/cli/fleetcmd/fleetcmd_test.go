package fleetcmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/inventory/fleetgen"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

var (
	deadline = time.Date(2026, 1, 16, 17, 0, 0, 0, time.UTC) // Friday afternoon
	overlay  = filepath.Join("testdata", "catalog")
)

// syncBuffer is a bytes.Buffer safe for the watcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(now time.Time, stdin io.Reader) (*cli.Env, *syncBuffer, *syncBuffer) {
	out, errb := &syncBuffer{}, &syncBuffer{}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return &cli.Env{Stdin: stdin, Stdout: out, Stderr: errb, Log: slog.New(slog.NewTextHandler(errb, nil)),
		Now: func() time.Time { return now }}, out, errb
}

func runFleet(t *testing.T, now time.Time, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	e, out, errb := env(now, stdin)
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name string, r io.Reader) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

const clean = "device,owner,platform,app_id,app_name,version\nR58M1,ann@example.com,android,com.whatsapp,WhatsApp,2.24\n"
const dirty = "device,owner,platform,app_id,app_name,version,publisher\n" +
	"R58M1,ann@example.com,android,com.zhiliaoapp.musically,TikTok,34.5.3,\n" +
	"LAPTOP-2,bob@example.com,windows,TikTok,TikTok,1.0,TikTok Fan Tools LLC\n"

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cleanF := writeFile(t, dir, "clean.csv", strings.NewReader(clean))
	dirtyF := writeFile(t, dir, "dirty.csv", strings.NewReader(dirty))
	notes := writeFile(t, dir, "notes.txt", strings.NewReader("dear diary\n"))
	policyF := writeFile(t, dir, "policy.yaml", strings.NewReader("rules:\n  - id: ban\n    action: block\n    entities: bytedance\n    effective: 2026-01-16T17:00:00Z\n"))
	badPolicy := writeFile(t, dir, "bad.yaml", strings.NewReader("rules:\n  - id: ban\n    action: block\n    entities: no-such-entity\n"))
	now := deadline.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"no subcommand", nil, cli.ExitFailure, "usage"},
		{"unknown subcommand", []string{"fix"}, cli.ExitFailure, "unknown subcommand"},
		{"no inventory", []string{"check", "--ban", "bytedance"}, cli.ExitFailure, "usage"},
		{"neither policy nor ban", []string{"check", cleanF}, cli.ExitFailure, "either --policy"},
		{"both policy and ban", []string{"check", cleanF, "--policy", policyF, "--ban", "bytedance"}, cli.ExitFailure, "either --policy"},
		{"deadline without ban", []string{"check", cleanF, "--policy", policyF, "--deadline", "2026-01-16T17:00:00Z"}, cli.ExitFailure, "--deadline goes with --ban"},
		{"bad deadline", []string{"check", cleanF, "--ban", "bytedance", "--deadline", "Friday"}, cli.ExitFailure, "--deadline"},
		{"bad now", []string{"check", cleanF, "--ban", "bytedance", "--now", "noon"}, cli.ExitFailure, "--now"},
		{"domain ban", []string{"check", cleanF, "--ban", "tiktok.com"}, cli.ExitFailure, "not domain names"},
		{"unknown ban", []string{"check", cleanF, "--ban", "nobody"}, cli.ExitFailure, "--ban \"nobody\""},
		{"policy names an unknown entity", []string{"check", cleanF, "--policy", badPolicy}, cli.ExitFailure, "no-such-entity"},
		{"json and csv", []string{"check", cleanF, "--ban", "bytedance", "--json", "--csv"}, cli.ExitFailure, "exclude"},
		{"bad format", []string{"check", cleanF, "--ban", "bytedance", "--format", "xls"}, cli.ExitFailure, "--format"},
		{"bad webhook", []string{"check", cleanF, "--ban", "bytedance", "--webhook", "hooks.example"}, cli.ExitFailure, "not an http(s) URL"},
		{"bad remind", []string{"check", cleanF, "--ban", "bytedance", "--remind", "soon"}, cli.ExitFailure, "soon"},
		{"store that cannot be opened", []string{"check", cleanF, "--ban", "bytedance", "--store", filepath.Join(cleanF, "x.db")}, cli.ExitFailure, "store"},
		{"compliant", []string{"check", cleanF, "--ban", "bytedance", "--deadline", "2026-01-16T17:00:00Z"}, cli.ExitOK, "0 overdue, 0 due, 1 compliant"},
		{"due", []string{"check", dirtyF, "--ban", "bytedance", "--deadline", "2026-01-16T17:00:00Z"}, cli.ExitConcern, "0 overdue, 1 due, 1 compliant"},
		{"policy file", []string{"check", dirtyF, "--policy", policyF, "--now", "2026-01-17T00:00:00Z"}, cli.ExitConcern, "1 overdue, 0 due"},
		{"missing file", []string{"check", cleanF, filepath.Join(dir, "absent.csv"), "--ban", "bytedance"}, cli.ExitInput, "absent.csv"},
		{"unknown format", []string{"check", notes, cleanF, "--ban", "bytedance"}, cli.ExitInput, "notes.txt"},
		{"help", []string{"check", "-h"}, cli.ExitOK, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runFleet(t, now, nil, tc.args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, out, errs)
			}
			if !strings.Contains(out+errs, tc.msg) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.msg, out, errs)
			}
		})
	}
}

func TestStdinAndLookalike(t *testing.T) {
	code, out, errs := runFleet(t, deadline.Add(time.Hour), strings.NewReader(dirty), "check", "-", "--ban", "bytedance", "--deadline", deadline.Format(time.RFC3339), "--csv")
	if code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "R58M1" || rows[1][14] != "overdue" || rows[1][12] != "ban-bytedance" {
		t.Errorf("rows %q; want R58M1 overdue only (the lookalike Windows TikTok is not ByteDance's)", rows)
	}
}

// generated writes a generated fleet in five formats.
func generated(t *testing.T, f fleetgen.Fleet) []string {
	dir := t.TempDir()
	return []string{
		writeFile(t, dir, "fleet.csv", f.PlainCSV()),
		writeFile(t, dir, "osqueryd.results.log", f.OsqueryLog()),
		writeFile(t, dir, "phones.txt", f.AndroidPM()),
		writeFile(t, dir, "AppInvRawData.csv", f.IntuneCSV()),
		writeFile(t, dir, "jamf.csv", f.JamfCSV()),
	}
}

type jsonReport struct {
	Inputs []struct {
		File, Format string
		Items        int
	} `json:"inputs"`
	Summary struct {
		Devices, Due, Overdue, Compliant int
	} `json:"summary"`
	Devices []struct {
		Device  string `json:"device"`
		Verdict string `json:"verdict"`
		Apps    []struct {
			AppID      string   `json:"app_id"`
			Entity     string   `json:"entity"`
			OwnerChain []string `json:"owner_chain"`
			Rule       string   `json:"rule"`
			Verdict    string   `json:"verdict"`
			Deadline   string   `json:"deadline"`
		} `json:"apps"`
	} `json:"devices"`
}

func TestGeneratedFleetJSON(t *testing.T) {
	f := fleetgen.Fleet{Devices: 3000, Apps: 25, Mobile: true}
	files := generated(t, f)
	args := append([]string{"check"}, files...)
	args = append(args, "--ban", "bytedance,tencent", "--deadline", deadline.Format(time.RFC3339), "--catalog-dir", overlay, "--json")
	code, out, errs := runFleet(t, deadline.Add(-50*time.Hour), nil, args...)
	if code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	wantFormats := []string{"csv", "osquery", "android", "intune", "jamf"}
	for i, in := range rep.Inputs {
		if in.Format != wantFormats[i] || in.Items == 0 {
			t.Errorf("input %+v, want format %s", in, wantFormats[i])
		}
	}
	listed := map[string]bool{}
	for _, d := range rep.Devices {
		listed[d.Device] = true
		if d.Verdict != "due" {
			t.Errorf("%s: %s", d.Device, d.Verdict)
		}
		for _, a := range d.Apps {
			top := a.OwnerChain[len(a.OwnerChain)-1]
			if top != "bytedance" && top != "tencent" || a.Deadline != "2026-01-16T17:00:00Z" || a.Verdict != "due" {
				t.Errorf("%s: %+v", d.Device, a)
			}
		}
	}
	// Every device carrying its platform's app of concern is listed (by
	// its serial or hostname; Intune names devices by their own id).
	for i := 0; i < f.Devices; i += fleetgen.BannedEvery {
		if !listed[f.Device(i).ID] {
			t.Errorf("device %d (%s, %s) not listed", i, f.Device(i).ID, f.Device(i).Platform)
		}
	}
	if rep.Summary.Due != len(rep.Devices) || rep.Summary.Devices < f.Devices || rep.Summary.Compliant+rep.Summary.Due != rep.Summary.Devices {
		t.Errorf("summary %+v with %d devices listed", rep.Summary, len(rep.Devices))
	}
}

func TestMalformedLineReported(t *testing.T) {
	dir := t.TempDir()
	data := dirty + "R58M9,,android\n" + "R58M3,cy@example.com,android,com.tencent.mm,WeChat,8.0,\n"
	p := writeFile(t, dir, "inv.csv", strings.NewReader(data))
	code, out, errs := runFleet(t, deadline, nil, "check", p, "--ban", "bytedance,tencent")
	if code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "inv.csv:4") || !strings.Contains(out, "R58M3") {
		t.Errorf("report lacks the malformed line or what follows it:\n%s", out)
	}
	code, _, errs = runFleet(t, deadline, nil, "check", p, "--ban", "bytedance,tencent", "--json")
	if code != cli.ExitConcern || !strings.Contains(errs, "inv.csv:4") {
		t.Errorf("exit %d, stderr %q; want the malformed line named on stderr with --json", code, errs)
	}
}

func TestWebhookSentOnce(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	inv := writeFile(t, dir, "inv.csv", strings.NewReader(dirty))
	state := filepath.Join(dir, "state.json")
	args := []string{"check", inv, "--ban", "bytedance", "--deadline", deadline.Format(time.RFC3339), "--webhook", srv.URL,
		"--webhook-format", "slack", "--remind", "3d", "--notify-state", state}
	for _, step := range []struct {
		now  time.Time
		want int // bodies posted so far
	}{
		{deadline.Add(-5 * 24 * time.Hour), 0},
		{deadline.Add(-48 * time.Hour), 1}, // the reminder
		{deadline.Add(-47 * time.Hour), 1},
		{deadline.Add(time.Minute), 2}, // overdue
		{deadline.Add(time.Hour), 2},
	} {
		if code, _, errs := runFleet(t, step.now, nil, args...); code != cli.ExitConcern {
			t.Fatalf("at %v: exit %d: %s", step.now, code, errs)
		}
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n != step.want {
			t.Fatalf("at %v: %d posts, want %d: %q", step.now, n, step.want, bodies)
		}
	}
	if !strings.Contains(bodies[0], "DUE in 2d0h") || !strings.Contains(bodies[1], "OVERDUE: R58M1 (ann@example.com)") {
		t.Errorf("bodies %q", bodies)
	}
	// A webhook that refuses is an operation failure, reported.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	code, _, errs := runFleet(t, deadline.Add(time.Hour), nil, "check", inv, "--ban", "bytedance", "--webhook", srv.URL,
		"--notify-state", filepath.Join(dir, "other.json"))
	if code != cli.ExitFailure || !strings.Contains(errs, "403") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "osqueryd.results.log")
	if err := os.WriteFile(logf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := deadline.Add(-2 * time.Hour)
	e, out, errb := env(now, nil)
	e.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"watch", logf, "--ban", "bytedance", "--deadline", deadline.Format(time.RFC3339),
			"--poll", "5ms", "--interval", "10ms", "--from-start"})
	}()
	appendLine := func(s string) {
		f, err := os.OpenFile(logf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s + "\n")
		f.Close()
	}
	waitFor := func(sub string) {
		t.Helper()
		for range 1000 {
			if strings.Contains(out.String(), sub) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		t.Fatalf("no %q in output:\n%s\nstderr: %s", sub, out.String(), errb.String())
	}
	appendLine(`{"snapshot":[{"bundle_identifier":"com.zhiliaoapp.musically","bundle_short_version":"34.5.3","name":"TikTok.app"},{"bundle_identifier":"com.google.Chrome","name":"Google Chrome.app"}],"action":"snapshot","name":"pack/Global/apps","hostIdentifier":"MBP-ALICE","unixTime":1768575600,"decorations":{"username":"alice"}}`)
	waitFor("due      MBP-ALICE")
	appendLine(`not json`)
	mu.Lock()
	now = deadline.Add(time.Minute)
	mu.Unlock()
	waitFor("overdue  MBP-ALICE")
	appendLine(`{"name":"pack/Global/apps","hostIdentifier":"MBP-ALICE","unixTime":1768579300,"columns":{"bundle_identifier":"com.zhiliaoapp.musically","name":"TikTok.app"},"action":"removed"}`)
	waitFor("removed  MBP-ALICE")
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "osqueryd.results.log:2") {
		t.Errorf("the malformed line is not reported with file and line: %q", errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	states := []string{}
	for _, l := range lines {
		states = append(states, strings.Fields(l)[1])
	}
	if !slices.Equal(states, []string{"due", "overdue", "removed"}) {
		t.Errorf("states %q", states)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"72h", 72 * time.Hour, true}, {"7d", 7 * 24 * time.Hour, true}, {"90m", 90 * time.Minute, true},
		{"0d", 0, false}, {"-1h", 0, false}, {"1.5d", 0, false}, {"d", 0, false}, {"soon", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseDuration(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
}

// TestStore writes the resolver's and a scan's view into a real SQLite
// store, then checks an inventory against it: the device whose inventory
// is clean but whose traffic reached TikTok after the deadline is
// flagged, and the check's verdicts land in the store.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outflow.db")
	cfg := store.DefaultConfig()
	cfg.Path = path
	ctx := context.Background()
	st, err := backend.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	after := deadline.Add(26 * time.Hour)
	b := &store.Batch{
		Devices:  []store.Device{{ID: "10.1.2.3", Name: "mbp-carol.corp.example"}},
		Entities: []store.Entity{{ID: "tiktok", Name: "TikTok Pte. Ltd.", Jurisdiction: "CN", OwnerChain: []string{"tiktok", "bytedance"}}},
		Flows: []store.Flow{{First: after, Last: after.Add(time.Minute), Device: "10.1.2.3", Proto: "tcp", Peer: "203.0.113.7", Port: 443,
			Name: "api16-normal-useast5.tiktokv.us", Entity: "tiktok", Role: "app-owner", Traffic: store.Traffic{BytesOut: 5000, BytesIn: 90000, Flows: 1}}},
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	inv := writeFile(t, dir, "inv.csv", strings.NewReader("device,owner,platform,app_id\nMBP-CAROL,carol@example.com,macos,com.google.Chrome\nR58M1,ann@example.com,android,com.zhiliaoapp.musically\n"))
	code, out, errs := runFleet(t, after.Add(time.Hour), nil, "check", inv, "--ban", "bytedance", "--deadline", deadline.Format(time.RFC3339), "--store", path, "--json")
	if code != cli.ExitConcern {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Summary struct {
			Overdue int `json:"overdue"`
			Flagged int `json:"traffic_after_deadline"`
		} `json:"summary"`
		Devices []struct {
			Device string `json:"device"`
			Apps   []struct {
				AppID   string `json:"app_id"`
				Traffic *struct {
					Entity string `json:"entity"`
					Via    string `json:"via"`
				} `json:"traffic_after_deadline"`
			} `json:"apps"`
		} `json:"devices"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Overdue != 1 || rep.Summary.Flagged != 1 {
		t.Fatalf("summary %+v\n%s", rep.Summary, out)
	}
	var flagged string
	for _, d := range rep.Devices {
		for _, a := range d.Apps {
			if a.Traffic != nil {
				flagged = d.Device + " " + a.AppID + " " + a.Traffic.Entity + " " + a.Traffic.Via
			}
		}
	}
	if flagged != "MBP-CAROL  tiktok flows" {
		t.Errorf("flagged %q", flagged)
	}
	ro, err := backend.OpenReadOnly(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	items, err := ro.Inventory(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Device != "R58M1" || items[0].Verdict != "overdue" || items[0].Rule != "ban-bytedance" {
		t.Errorf("stored inventory %+v", items)
	}
}
