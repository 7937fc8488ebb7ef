package backend

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/clickhouse/chtest"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	p, err := store.DefaultPath()
	if err != nil || p != filepath.Join(dir, "outflow", "outflow.db") {
		t.Fatalf("default path %q, %v", p, err)
	}
	if _, err := OpenReadOnly(ctx, store.Config{}, nil); err == nil {
		t.Error("read-only open of a store that does not exist succeeded")
	}
	st, err := Open(ctx, store.Config{}, nil) // the default path, created
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, &store.Batch{Flows: []store.Flow{{First: time.Now(), Device: "d", Peer: "192.0.2.1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, store.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ro.Info(ctx)
	if err != nil || in.Flows != 1 || in.Path != p {
		t.Errorf("info %+v %v", in, err)
	}
	ro.Close()
	if _, err := Open(ctx, store.Config{Path: "postgres://db:5432/outflow"}, nil); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("postgres URL: %v", err)
	}
	if _, err := Open(ctx, store.Config{Path: "clickhouse://127.0.0.1:9/outflow?shards=2"}, nil); err == nil || !strings.Contains(err.Error(), `unknown parameter "shards"`) {
		t.Errorf("clickhouse URL with an unknown parameter: %v", err)
	}
	if _, err := Open(ctx, store.Config{Path: filepath.Join(dir, "x.db"), Synchronous: "sometimes"}, nil); err == nil {
		t.Error("bad synchronous accepted")
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	v := Flag(fs)
	if err := fs.Parse([]string{"--store", "/tmp/s.db"}); err != nil || *v != "/tmp/s.db" {
		t.Errorf("flag: %q %v", *v, err)
	}
}

// TestOpenClickHouse opens a real server through --store's URL, writes
// and reads back through both opens.
func TestOpenClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	url := srv.URL("outflow_backend")
	st, err := Open(ctx, store.Config{Path: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := st.Write(ctx, &store.Batch{Flows: []store.Flow{{First: at, Device: "d", Peer: "192.0.2.1", Traffic: store.Traffic{Flows: 3}}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ro, err := OpenReadOnly(ctx, store.Config{Path: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	in, err := ro.Info(ctx)
	if err != nil || in.Backend != "clickhouse" || in.Flows != 3 || in.Devices != 1 || !in.First.Equal(at) {
		t.Errorf("info %+v %v", in, err)
	}
	if _, err := Open(ctx, store.Config{Path: "clickhouse://127.0.0.1:1/outflow?dial_timeout=1s"}, nil); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("a server that is not there: %v", err)
	}
}
