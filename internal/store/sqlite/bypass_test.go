package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/store"
)

func TestBypassRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := Open(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	doh := store.Bypass{Device: "192.168.1.20", Kind: "doh", Peer: "1.1.1.1", Port: 443, Proto: "tcp", Name: "cloudflare-dns.com",
		Service: "cloudflare-dns", Owner: "cloudflare", OwnerName: "Cloudflare, Inc.",
		Evidence: []store.BypassEvidence{{Kind: "tls-sni", Value: "cloudflare-dns.com", Rule: "dns-service:cloudflare-dns", Source: "cloudflare-dns-docs"}},
		Flows:    2, BytesOut: 900, BytesIn: 4000, First: t0, Last: t0.Add(time.Minute), Source: "a.pcap"}
	httpdns := store.Bypass{Device: "192.168.1.30", Kind: "httpdns", Peer: "203.107.1.65", Port: 80, Proto: "tcp",
		Owner: "alibaba-cloud", OwnerName: "Alibaba Cloud", Evidence: []store.BypassEvidence{{Kind: "http-dns-request", Value: "GET /sign_d?host=appmarket.micloud.xiaomi.net"}},
		Flows: 1, BytesOut: 310, BytesIn: 180, First: t0.Add(2 * time.Hour), Last: t0.Add(2 * time.Hour)}
	if err := db.Write(ctx, &store.Batch{Bypass: []store.Bypass{doh, httpdns}}); err != nil {
		t.Fatal(err)
	}
	// the same DoH again a day later: one row, wider, summed
	again := doh
	again.First, again.Last, again.Source = t0.Add(24*time.Hour), t0.Add(25*time.Hour), "b.pcap"
	if err := db.Write(ctx, &store.Batch{Bypass: []store.Bypass{again}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, &store.Batch{Bypass: []store.Bypass{{Device: "x", Kind: "doh"}}}); err == nil {
		t.Error("a row without peer or time was stored")
	}
	db.Close()
	ro, err := OpenReadOnly(ctx, store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	merged := doh
	merged.Flows, merged.BytesOut, merged.BytesIn, merged.Last, merged.Source = 4, 1800, 8000, again.Last, "b.pcap"
	end := t0.Add(48 * time.Hour)
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []store.Bypass
	}{
		{"all, last seen first", store.Filter{Until: end}, []store.Bypass{merged, httpdns}},
		{"by device", store.Filter{Until: end, Devices: []string{"192.168.1.30"}}, []store.Bypass{httpdns}},
		{"by owner", store.Filter{Until: end, Entities: []string{"cloudflare"}}, []store.Bypass{merged}},
		{"period after the httpdns", store.Filter{Since: t0.Add(3 * time.Hour), Until: end}, []store.Bypass{merged}},
		{"period before all", store.Filter{Until: t0}, []store.Bypass{}},
		{"limit", store.Filter{Until: end, Limit: 1, Offset: 1}, []store.Bypass{httpdns}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ro.Bypass(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("-want +got\n%s", d)
			}
		})
	}
}
