package backend

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
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
	if _, err := Open(ctx, store.Config{Path: "clickhouse://db:9000/outflow"}, nil); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("clickhouse URL: %v", err)
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
