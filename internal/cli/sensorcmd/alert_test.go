package sensorcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// TestAlertsFromConfigAndPolicy runs `outflow sensor --follow eve.json
// --policy P --config C` where C's alerts section names a webhook and a
// UDP syslog receiver on 127.0.0.1: the TikTok flow of the eve.json
// raises a first contact and, the ban's deadline being past, a
// past-deadline alert, delivered to both and kept in the store.
func TestAlertsFromConfigAndPolicy(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var kinds []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a struct{ Kind, Entity, Device, Site string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		mu.Lock()
		kinds = append(kinds, a.Kind+" "+a.Site+"/"+a.Device+" "+a.Entity)
		mu.Unlock()
	}))
	defer srv.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	syslogs := make(chan string, 16)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			syslogs <- string(buf[:n])
		}
	}()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pol := write("policy.yaml", "rules:\n  - id: tiktok-ban\n    action: block\n    entities: bytedance\n    effective: 2026-01-19T00:00:00Z\n")
	cfg := write("sensor.yaml", fmt.Sprintf("alerts:\n  webhooks: [{url: %q}]\n  syslog: [{network: udp, address: %q}]\n", srv.URL, pc.LocalAddr()))
	b, err := os.ReadFile("../../ingest/eve/testdata/eve.json")
	if err != nil {
		t.Fatal(err)
	}
	ev := write("eve.json", string(b))
	db := filepath.Join(dir, "s.db")

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, testEnv(io.Discard, &stderr), []string{"--store", db, "--site", "hq", "--flush", "100ms",
			"--policy", pol, "--config", cfg, "--follow", ev})
	}()
	for i := 0; i < 1000; i++ {
		mu.Lock()
		n := len(kinds)
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit")
	}
	mu.Lock()
	got := strings.Join(kinds, "\n")
	mu.Unlock()
	for _, want := range []string{"first_contact hq/192.168.50.10 tiktok", "past_deadline hq/192.168.50.10 tiktok"} {
		if !strings.Contains(got, want) {
			t.Errorf("webhook did not get %q; got:\n%s\n%s", want, got, stderr.String())
		}
	}
	if n := len(syslogs); n < 2 {
		t.Errorf("%d syslog messages, want at least 2", n)
	}
	scfg := store.DefaultConfig()
	scfg.Path = db
	st, err := backend.OpenReadOnly(context.Background(), scfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kept, err := st.(store.Alerts).Alerts(context.Background(), store.Filter{Until: time.Now().AddDate(1, 0, 0), Devices: []string{"hq/192.168.50.10"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) < 2 {
		t.Fatalf("%d alerts kept for hq/192.168.50.10, want the first contact and the past deadline: %+v", len(kept), kept)
	}
}
