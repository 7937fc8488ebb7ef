package sensorcmd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// TestFollowEVEAndQueryLog runs `outflow sensor --follow` on an eve.json
// and a query log at a named site: after SIGTERM the store holds the EVE
// flows as scan counts them and the queries under SITE/ADDRESS, and the
// offsets saved in the state directory stand at the files' ends.
func TestFollowEVEAndQueryLog(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	ev := filepath.Join(dir, "eve.json")
	ql := filepath.Join(dir, "query.log")
	b, err := os.ReadFile("../../ingest/eve/testdata/eve.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ev, b, 0o644); err != nil {
		t.Fatal(err)
	}
	qlines := `{"time":"2026-03-02T09:00:00Z","client":"192.168.50.10","proto":"udp","name":"www.tiktok.com","type":"A","rcode":"NOERROR","verdict":"block","rule":"no-tiktok","entity":"bytedance","latency_us":10}
{"time":"2026-03-02T09:00:01Z","client":"192.168.50.11","proto":"udp","name":"example.org","type":"AAAA","rcode":"NOERROR","verdict":"allow","latency_us":12}
not json
`
	if err := os.WriteFile(ql, []byte(qlines), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, testEnv(io.Discard, &stderr), []string{"--store", db, "--site", "hq", "--flush", "100ms",
			"--follow", ev, "--follow", "querylog:" + ql})
	}()
	following := regexp.MustCompile(`following .*query.log`)
	for i := 0; i < 500 && !following.MatchString(stderr.String()); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	// the sensor stops reading at SIGTERM: wait until both files are in
	for i := 0; i < 1000 && queryRows(t, db) < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5 s")
	}
	out, in, rows := storeTotals(t, db)
	wout, win := scanTotals(t, ev)
	if out != wout || in != win || rows == 0 {
		t.Fatalf("store out %d in %d (%d rows); scan of the same eve.json says out %d in %d\n%s", out, in, rows, wout, win, stderr.String())
	}
	cfg := store.DefaultConfig()
	cfg.Path = db
	st, err := backend.OpenReadOnly(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	qs, err := st.Queries(context.Background(), store.Filter{Until: time.Now().AddDate(10, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, q := range qs {
		got[q.Client] = q.Name + " " + q.Verdict
	}
	want := map[string]string{"hq/192.168.50.10": "www.tiktok.com block", "hq/192.168.50.11": "example.org allow"}
	if len(got) != len(want) || got["hq/192.168.50.10"] != want["hq/192.168.50.10"] || got["hq/192.168.50.11"] != want["hq/192.168.50.11"] {
		t.Fatalf("queries %v, want %v\n%s", got, want, stderr.String())
	}
	off, err := os.ReadFile(filepath.Join(db+".follow", "offsets.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{len(b), len(qlines)} {
		if !regexp.MustCompile(`"offset":\s*` + itoa(size) + `\b`).Match(off) {
			t.Errorf("offsets.json does not stand at a file's end (%d): %s", size, off)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func queryRows(t *testing.T, db string) int64 {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path = db
	st, err := backend.OpenReadOnly(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0 // not created yet
	}
	defer st.Close()
	inf, err := st.Info(context.Background())
	if err != nil {
		return 0
	}
	return inf.Queries
}
