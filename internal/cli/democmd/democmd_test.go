package democmd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
)

// TestDemo is README command one: it must succeed and show the TikTok
// laptop, the DJI controller's MAC and the Hikvision camera.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }}
	if code := run(context.Background(), env, nil); code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"ana-laptop", "-> tiktok: TikTok Pte. Ltd.", "device made by SZ DJI Technology", "cam-lobby", "-> hikvision", "-> pdd", "quic-sni     hkminorshort.weixin.qq.com", "name hidden (tls-ech)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
