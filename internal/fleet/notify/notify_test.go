package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/fleet"
	"github.com/outflow-dev/outflow/internal/fleet/fleettest"
	"github.com/outflow-dev/outflow/internal/fleet/notify"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/policy"
)

// mapMemory is a notify.Memory in memory only.
type mapMemory map[string]time.Time

func (m mapMemory) Sent(key string) bool { _, ok := m[key]; return ok }

func (m mapMemory) Remember(keys []string, at time.Time) error {
	for _, k := range keys {
		m[k] = at
	}
	return nil
}

var deadline = time.Date(2026, 1, 19, 17, 0, 0, 0, time.UTC) // Friday afternoon

const pol = `
rules:
  - id: tiktok-ban
    action: block
    entities: bytedance
    basis: "PAFACA sec. 2"
    effective: 2026-01-19T17:00:00Z
`

// hook is a webhook on 127.0.0.1 that records what it is sent.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	fail   int // answer 503 to this many requests first
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if h.fail > 0 {
			h.fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		h.bodies = append(h.bodies, b)
	}))
	t.Cleanup(h.Close)
	return h
}

type jsonBody struct {
	Source string         `json:"source"`
	Events []notify.Event `json:"events"`
}

// take returns the events posted since the last call.
func (h *hook) take(t *testing.T) []string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, b := range h.bodies {
		var jb jsonBody
		if err := json.Unmarshal(b, &jb); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		if jb.Source != "outflow fleet" {
			t.Errorf("source %q", jb.Source)
		}
		for _, e := range jb.Events {
			out = append(out, e.Kind+" "+e.Device+" "+e.AppID+" "+e.TimeLeft)
		}
	}
	h.bodies = nil
	return out
}

// fleetAt checks a small fleet at a time: PHONE-1 keeps TikTok, PHONE-2
// removes it two days before the deadline, LAPTOP-3 never had it.
func fleetAt(t *testing.T, now time.Time, traffic ...fleet.Contact) *fleet.Report {
	t.Helper()
	ix := fleettest.Index(t)
	p, err := policy.Parse("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: now})
	items := []inventory.Item{
		{Device: "PHONE-1", Owner: "ann@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok"},
		{Device: "PHONE-2", Owner: "bob@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok"},
		{Device: "LAPTOP-3", Platform: "windows", Kind: "program", AppID: "Notepad++", Publisher: "Notepad++ Team"},
	}
	if removed := deadline.Add(-48 * time.Hour); !now.Before(removed) {
		items = append(items, inventory.Item{Device: "PHONE-2", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Removed: true, Seen: removed})
	}
	for i := range items {
		c.Add(&items[i])
	}
	c.AddTraffic(traffic)
	return c.Report()
}

func TestTimeline(t *testing.T) {
	h := newHook(t)
	state := filepath.Join(t.TempDir(), "state", "fleet-notified.json")
	mem, err := notify.OpenFileMemory(state)
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{URL: h.URL, Before: []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}}, mem, h.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Time
		want []string
	}{
		{deadline.Add(-10 * 24 * time.Hour), nil},
		{deadline.Add(-6 * 24 * time.Hour), []string{"reminder PHONE-1 com.zhiliaoapp.musically 6d0h", "reminder PHONE-2 com.zhiliaoapp.musically 6d0h"}},
		{deadline.Add(-5 * 24 * time.Hour), nil}, // sent once
		// PHONE-2 removed the app: no one-day reminder for it.
		{deadline.Add(-20 * time.Hour), []string{"reminder PHONE-1 com.zhiliaoapp.musically 20h0m"}},
		{deadline.Add(-time.Hour), nil},
		{deadline, []string{"overdue PHONE-1 com.zhiliaoapp.musically "}},
		{deadline.Add(72 * time.Hour), nil},
	} {
		rep := fleetAt(t, step.at)
		sent, err := n.Notify(context.Background(), rep)
		if err != nil {
			t.Fatalf("%v: %v", step.at, err)
		}
		got := h.take(t)
		if d := cmp.Diff(step.want, got); d != "" || sent != len(step.want) {
			t.Errorf("at %v: sent %d (-want +got):\n%s", step.at, sent, d)
		}
	}
	// A new process with the state file sends nothing again...
	mem2, err := notify.OpenFileMemory(state)
	if err != nil {
		t.Fatal(err)
	}
	if mem2.Len() != 4 {
		t.Errorf("state holds %d events, want 4", mem2.Len())
	}
	n2, _ := notify.New(notify.Config{URL: h.URL, Before: []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}}, mem2, h.Client())
	if sent, err := n2.Notify(context.Background(), fleetAt(t, deadline.Add(time.Hour))); err != nil || sent != 0 {
		t.Errorf("after restart: sent %d, %v", sent, err)
	}
	// ...but traffic after the deadline from PHONE-2 is news.
	rep := fleetAt(t, deadline.Add(2*time.Hour), fleet.Contact{Device: "PHONE-2", Entity: "bytedance", Last: deadline.Add(90 * time.Minute), Via: "dns"})
	if sent, err := n2.Notify(context.Background(), rep); err != nil || sent != 1 {
		t.Fatalf("traffic: sent %d, %v", sent, err)
	}
	if d := cmp.Diff([]string{"traffic PHONE-2 com.zhiliaoapp.musically "}, h.take(t)); d != "" {
		t.Error(d)
	}
}

func TestFirstRunSendsOnlyTheNearestReminder(t *testing.T) {
	h := newHook(t)
	n, _ := notify.New(notify.Config{URL: h.URL, Before: []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}}, mapMemory{}, h.Client())
	if _, err := n.Notify(context.Background(), fleetAt(t, deadline.Add(-3*time.Hour))); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	body := string(h.bodies[0])
	h.mu.Unlock()
	if !strings.Contains(body, `"key":"reminder|24h0m0s|tiktok-ban|PHONE-1|com.zhiliaoapp.musically|`) || strings.Contains(body, "168h") {
		t.Errorf("body %s", body)
	}
	// PHONE-2 removed the app two days before.
	if got := h.take(t); len(got) != 1 {
		t.Errorf("events %q, want PHONE-1's only", got)
	}
}

func TestFailedPostIsRetriedNextRun(t *testing.T) {
	h := newHook(t)
	h.fail = 1
	mem := mapMemory{}
	n, _ := notify.New(notify.Config{URL: h.URL}, mem, h.Client())
	rep := fleetAt(t, deadline.Add(time.Minute))
	sent, err := n.Notify(context.Background(), rep)
	var se *notify.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || !errors.Is(err, notify.ErrStatus) || sent != 0 {
		t.Fatalf("sent %d, err %v; want a 503 status error", sent, err)
	}
	if len(mem) != 0 {
		t.Fatalf("remembered %v after a failure", mem)
	}
	if sent, err := n.Notify(context.Background(), rep); err != nil || sent != 1 {
		t.Fatalf("retry: sent %d, %v", sent, err)
	}
	if got := h.take(t); len(got) != 1 {
		t.Errorf("events %q", got)
	}
}

func TestUnreachableWebhook(t *testing.T) {
	h := newHook(t)
	url := h.URL
	h.Close()
	n, _ := notify.New(notify.Config{URL: url, Timeout: time.Second}, mapMemory{}, nil)
	if _, err := n.Notify(context.Background(), fleetAt(t, deadline.Add(time.Minute))); err == nil {
		t.Fatal("no error from a closed server")
	}
}

func TestBatches(t *testing.T) {
	h := newHook(t)
	ix := fleettest.Index(t)
	p, _ := policy.Parse("policy.yaml", []byte(pol))
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: deadline.Add(time.Hour)})
	for i := range 120 {
		c.Add(&inventory.Item{Device: fmt.Sprintf("PHONE-%03d", i), Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically"})
	}
	n, _ := notify.New(notify.Config{URL: h.URL, Batch: 50}, mapMemory{}, h.Client())
	sent, err := n.Notify(context.Background(), c.Report())
	if err != nil || sent != 120 {
		t.Fatalf("sent %d, %v", sent, err)
	}
	h.mu.Lock()
	var sizes []int
	for _, b := range h.bodies {
		var jb jsonBody
		_ = json.Unmarshal(b, &jb)
		sizes = append(sizes, len(jb.Events))
	}
	h.mu.Unlock()
	if d := cmp.Diff([]int{50, 50, 20}, sizes); d != "" {
		t.Error(d)
	}
}

func TestSlack(t *testing.T) {
	h := newHook(t)
	ix := fleettest.Index(t)
	p, _ := policy.Parse("policy.yaml", []byte(pol))
	c := fleet.New(p, attribute.New(ix), fleet.Config{Now: deadline.Add(-30 * time.Hour)})
	c.Add(&inventory.Item{Device: "PHONE-<1>", Owner: "a&b@example.com", Platform: "android", Kind: "app", AppID: "com.zhiliaoapp.musically", Name: "TikTok"})
	n, _ := notify.New(notify.Config{URL: h.URL, Format: notify.FormatSlack}, mapMemory{}, h.Client())
	if _, err := n.Notify(context.Background(), c.Report()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var msg map[string]string
	if err := json.Unmarshal(h.bodies[0], &msg); err != nil || len(msg) != 1 {
		t.Fatalf("slack body %s: %v", h.bodies[0], err)
	}
	want := "*outflow fleet*: 1 reminder\n• DUE in 1d6h: PHONE-&lt;1&gt; (a&amp;b@example.com) must remove TikTok (tiktok-pte &gt; bytedance), rule tiktok-ban, deadline 2026-01-19 17:00 UTC\n"
	if d := cmp.Diff(want, msg["text"]); d != "" {
		t.Errorf("slack text (-want +got):\n%s", d)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  notify.Config
		ok   bool
	}{
		{"ok", notify.Config{URL: "https://hooks.example.com/x"}, true},
		{"slack", notify.Config{URL: "http://127.0.0.1:9/x", Format: "slack"}, true},
		{"no scheme", notify.Config{URL: "hooks.example.com/x"}, false},
		{"ftp", notify.Config{URL: "ftp://example.com/"}, false},
		{"format", notify.Config{URL: "https://example.com/", Format: "xml"}, false},
		{"negative before", notify.Config{URL: "https://example.com/", Before: []time.Duration{-time.Hour}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.New(tc.cfg, mapMemory{}, nil)
			if (err == nil) != tc.ok {
				t.Errorf("New: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCorruptStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.OpenFileMemory(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err %v; want one naming the file", err)
	}
}
