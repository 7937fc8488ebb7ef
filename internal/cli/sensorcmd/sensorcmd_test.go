package sensorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/cli/scancmd"
	"github.com/outflow-dev/outflow/internal/ingest/netflow/exportfile"
	"github.com/outflow-dev/outflow/internal/sharedtest"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// syncBuf is a writer two goroutines share.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func testEnv(out, errw io.Writer) *cli.Env {
	return &cli.Env{Stdin: bytes.NewReader(nil), Stdout: out, Stderr: errw, Log: slog.New(slog.NewTextHandler(errw, nil)), Now: time.Now}
}

func datagrams(t *testing.T, name string) []exportfile.Datagram {
	t.Helper()
	ds, err := exportfile.Read(sharedtest.Path(t, "netflow", name))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// scanTotals is what `outflow scan --flow-exports --json` says of a file.
func scanTotals(t *testing.T, path string) (out, in uint64) {
	t.Helper()
	var stdout bytes.Buffer
	code := scancmd.Run(context.Background(), testEnv(&stdout, io.Discard), []string{"--flow-exports", "--json", "--no-progress", path})
	if code != cli.ExitOK && code != cli.ExitConcern {
		t.Fatalf("scan exit %d", code)
	}
	var rep struct {
		Devices []struct {
			Other     struct{ BytesOut, BytesIn uint64 } `json:"other"`
			Exposures []struct {
				BytesOut uint64 `json:"bytes_out"`
				BytesIn  uint64 `json:"bytes_in"`
			} `json:"exposures"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(stdout.Bytes(), &raw)
	for i, d := range raw["devices"].([]any) {
		o := d.(map[string]any)["other"].(map[string]any)
		out += uint64(o["bytes_out"].(float64))
		in += uint64(o["bytes_in"].(float64))
		for _, x := range rep.Devices[i].Exposures {
			out += x.BytesOut
			in += x.BytesIn
		}
	}
	return out, in
}

// storeTotals sums the store's flow rows.
func storeTotals(t *testing.T, path string) (out, in uint64, rows int) {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path = path
	st, err := backend.OpenReadOnly(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fl, err := st.Flows(context.Background(), store.Filter{Until: time.Now().AddDate(10, 0, 0), Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fl {
		out += f.BytesOut
		in += f.BytesIn
		if f.First.Year() < 2000 {
			t.Errorf("row dated %s", f.First)
		}
	}
	return out, in, len(fl)
}

var collectorLine = regexp.MustCompile(`flow collector on udp (\S+)`)

func waitAddr(t *testing.T, stderr fmt.Stringer) string {
	t.Helper()
	for i := 0; i < 500; i++ {
		if m := collectorLine.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the sensor did not start: %s", stderr)
	return ""
}

func send(t *testing.T, addr string, ds []exportfile.Datagram) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range ds {
		if _, err := c.Write(d.Payload); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // loopback drops past the socket buffer otherwise
	}
}

// TestReplayEqualsScan is the acceptance test: the shared exports
// replayed over loopback UDP to the sensor store what scan --flow-exports
// says of the same file, reverse biflow octets included.
func TestReplayEqualsScan(t *testing.T) {
	for _, name := range []string{"ipfix_bidir_from_wechat.pcapng", "netflow_v5_from_wechat.pcapng"} {
		t.Run(name, func(t *testing.T) {
			ds := datagrams(t, name)
			db := filepath.Join(t.TempDir(), "s.db")
			ctx, cancel := context.WithCancel(context.Background())
			var stderr syncBuf
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, testEnv(io.Discard, &stderr), []string{"--store", db, "--flow-listen", "127.0.0.1:0", "--flush", "200ms"})
			}()
			send(t, waitAddr(t, &stderr), ds)
			time.Sleep(300 * time.Millisecond) // across at least one flush
			stop := time.Now()
			cancel()
			select {
			case code := <-done:
				if code != cli.ExitOK {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no exit within 5 s of the cancel")
			}
			if d := time.Since(stop); d > 5*time.Second {
				t.Fatalf("exit took %s", d)
			}
			out, in, rows := storeTotals(t, db)
			wout, win := scanTotals(t, sharedtest.Path(t, "netflow", name))
			if out != wout || in != win || rows == 0 {
				t.Fatalf("store out %d in %d (%d rows); scan says out %d in %d\n%s", out, in, rows, wout, win, stderr.String())
			}
			if name[:5] == "ipfix" && out+in != 279792+364110 {
				t.Fatalf("forward and reverse octets %d, want 643902", out+in)
			}
		})
	}
}

// TestKillAndRestartCountOnce kills the sensor with SIGKILL after a flush,
// restarts it, replays the rest, stops it with SIGTERM: the store holds
// every datagram's bytes exactly once.
func TestKillAndRestartCountOnce(t *testing.T) {
	if os.Getenv("OUTFLOW_SENSOR_CHILD") != "" {
		t.Skip("child")
	}
	ds := datagrams(t, "netflow_v5_from_wechat.pcapng") // v5: no templates to lose across the restart
	db := filepath.Join(t.TempDir(), "s.db")
	wout, win := scanTotals(t, sharedtest.Path(t, "netflow", "netflow_v5_from_wechat.pcapng"))
	half := len(ds) / 2

	start := func() (*exec.Cmd, *syncBuf) {
		var stderr syncBuf
		cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
		cmd.Env = append(os.Environ(), "OUTFLOW_SENSOR_CHILD="+db)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	cmd, stderr := start()
	send(t, waitAddr(t, stderr), ds[:half])
	// wait for the first half to be flushed, then kill -9
	var out1 uint64
	for i := 0; i < 300; i++ {
		time.Sleep(20 * time.Millisecond)
		if o, in, _ := storeTotals(t, db); o+in > 0 {
			out1 = o + in
			break
		}
	}
	if out1 == 0 {
		t.Fatalf("nothing flushed before the kill: %s", stderr)
	}
	cmd.Process.Kill()
	cmd.Wait()

	cmd, stderr = start()
	send(t, waitAddr(t, stderr), ds[half:])
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v: %s", err, stderr)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 5 s of SIGTERM")
	}
	out, in, _ := storeTotals(t, db)
	if out != wout || in != win {
		t.Fatalf("after kill -9 and restart the store holds out %d in %d; scan says %d %d", out, in, wout, win)
	}
}

// TestChild is the sensor process TestKillAndRestartCountOnce starts.
func TestChild(t *testing.T) {
	db := os.Getenv("OUTFLOW_SENSOR_CHILD")
	if db == "" {
		t.Skip("run by TestKillAndRestartCountOnce")
	}
	ctx, stop := signalContext()
	defer stop()
	code := Run(ctx, testEnv(io.Discard, os.Stderr), []string{"--store", db, "--flow-listen", "127.0.0.1:0", "--flush", "100ms"})
	if code != cli.ExitOK {
		os.Exit(code)
	}
}

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		spec string
		want int64
		bad  bool
	}{
		{"", 24<<20 + 128*250_000, false},
		{"auto", 24<<20 + 128*250_000, false},
		{"off", 0, false},
		{"96MiB", 96 << 20, false},
		{"-1", 0, true},
		{"lots", 0, true},
	} {
		got, err := memoryLimit(c.spec, 250_000, 0, 200_000)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d, error %v", c.spec, got, err, c.want, c.bad)
		}
	}
	// each interface's flow table counts
	a, _ := memoryLimit("auto", 250_000, 0, 200_000)
	b, _ := memoryLimit("auto", 250_000, 2, 200_000)
	if b-a != 2*256*200_000 {
		t.Errorf("two interfaces add %d bytes, want %d", b-a, 2*256*200_000)
	}
}

var metricsLine = regexp.MustCompile(`metrics on http://(\S+)/metrics`)

// TestMetricsPprof: --metrics serves /metrics and /healthz, and Go's
// profiles only with --pprof.
func TestMetricsPprof(t *testing.T) {
	for _, pp := range []bool{false, true} {
		t.Run(fmt.Sprint("pprof=", pp), func(t *testing.T) {
			args := []string{"--store", filepath.Join(t.TempDir(), "s.db"), "--flow-listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"}
			if pp {
				args = append(args, "--pprof")
			}
			ctx, cancel := context.WithCancel(context.Background())
			var stderr syncBuf
			done := make(chan int, 1)
			go func() { done <- Run(ctx, testEnv(io.Discard, &stderr), args) }()
			defer func() { cancel(); <-done }()
			waitAddr(t, &stderr)
			var addr string
			for i := 0; i < 500 && addr == ""; i++ {
				if m := metricsLine.FindStringSubmatch(stderr.String()); m != nil {
					addr = m[1]
				}
				time.Sleep(10 * time.Millisecond)
			}
			if addr == "" {
				t.Fatalf("no metrics address: %s", stderr.String())
			}
			get := func(path string) (int, string) {
				r, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				b, _ := io.ReadAll(r.Body)
				return r.StatusCode, string(b)
			}
			if c, b := get("/metrics"); c != 200 || !strings.Contains(b, "outflow_collector_") {
				t.Errorf("/metrics: %d %.200s", c, b)
			}
			if c, b := get("/healthz"); c != 200 || strings.TrimSpace(b) != "ok" {
				t.Errorf("/healthz: %d %q", c, b)
			}
			c, b := get("/debug/pprof/heap?debug=1")
			if pp && (c != 200 || !strings.Contains(b, "heap profile")) {
				t.Errorf("--pprof: /debug/pprof/heap gave %d %.100s", c, b)
			}
			if !pp && c != http.StatusNotFound {
				t.Errorf("without --pprof: /debug/pprof/heap gave %d, want 404", c)
			}
		})
	}
}
