package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/sqlite"
)

// benchStore is the large store the dashboard is timed against: the file
// bench/store fills (10 million flow rows and 10 million query rows; see
// docs/benchmarks.md). Without OUTFLOW_BENCH_STORE the benchmark skips.
func benchStore(b *testing.B) store.Reader {
	path := os.Getenv("OUTFLOW_BENCH_STORE")
	if path == "" {
		b.Skip("set OUTFLOW_BENCH_STORE to a store filled by bench/store (docs/benchmarks.md, Dashboard)")
	}
	cfg := store.DefaultConfig()
	cfg.Path = path
	db, err := sqlite.OpenReadOnly(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// dashboardTargets are every page and API call, with the selections a
// user makes most: the default period (a month), a device, a name.
func dashboardTargets(dev, name, entity string) []string {
	return []string{
		"/", "/?map=hosts", "/?period=day", "/?period=quarter",
		"/devices", "/devices?entity=" + entity, "/devices/" + dev,
		"/flows", "/flows?device=" + dev, "/flows?name=" + name,
		"/names", "/names?device=" + dev,
		"/queries", "/queries?device=" + dev, "/queries?verdict=block",
		"/enforcement", "/apps", "/compliance", "/search?q=" + name[:6],
		"/api/overview", "/api/devices", "/api/devices/" + dev, "/api/flows", "/api/flows?device=" + dev,
		"/api/names", "/api/queries", "/api/queries?device=" + dev, "/api/blocked", "/api/overdue", "/api/due",
		"/api/audits", "/api/inventory", "/api/entities", "/api/search?q=" + name[:6], "/api/info",
	}
}

// BenchmarkDashboard times each page and API call through the whole
// handler (security headers, filter, store, template or JSON) against the
// large store. cold-ms is the median of three first requests, each to a
// new server (an empty result cache: the store answers); median-ms and
// max-ms are of the repeated requests (the cache answers until the store
// changes).
func BenchmarkDashboard(b *testing.B) {
	r := benchStore(b)
	dev := os.Getenv("OUTFLOW_BENCH_DEVICE")
	if dev == "" {
		dev = "10.0.0.7"
	}
	newServer := func() *Server {
		s, err := New(DefaultConfig(), Deps{Reader: r})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	for _, target := range dashboardTargets(dev, "h1.svc1.example1.com", "entity-01") {
		b.Run(target, func(b *testing.B) {
			get := func(s *Server) time.Duration {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				req.Host = "127.0.0.1:8080"
				req.Header.Set("Accept", "text/html")
				w := httptest.NewRecorder()
				t0 := time.Now()
				s.Handler().ServeHTTP(w, req)
				d := time.Since(t0)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
				_, _ = io.Copy(io.Discard, w.Body)
				return d
			}
			var cold []time.Duration
			var s *Server
			for range 3 {
				s = newServer()
				cold = append(cold, get(s))
			}
			var ds []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ds = append(ds, get(s))
			}
			b.StopTimer()
			sort.Slice(cold, func(i, j int) bool { return cold[i] < cold[j] })
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(ms(cold[1]), "cold-ms")
			b.ReportMetric(ms(ds[len(ds)/2]), "median-ms")
			b.ReportMetric(ms(ds[len(ds)-1]), "max-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkPagesSmall renders each page from the small test store with
// the result cache warm: the cost of the handler and templates alone.
func BenchmarkPagesSmall(b *testing.B) {
	s := newTestServer(b, DefaultConfig())
	for _, target := range []string{"/", "/devices", "/devices/192.168.50.10", "/enforcement", "/api/overview"} {
		b.Run(target, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp := s.do(b, req{target: target}); resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
