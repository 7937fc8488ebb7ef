package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// scanJSON scans files in one scanner with workers goroutines and
// returns the report as JSON; tune adjusts the configuration.
func scanJSON(t *testing.T, ix *catalog.Index, workers int, tune func(*Config), files ...string) []byte {
	t.Helper()
	cfg := DefaultConfig()
	cfg.All = true
	cfg.Workers = workers
	cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	if tune != nil {
		tune(&cfg)
	}
	s := New(cfg, attribute.New(ix))
	for _, f := range files {
		if err := s.ReadFile(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	b, err := json.MarshalIndent(s.Finish(testAt), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameWithWorkers scans with one goroutine, then with 2 and 4, and
// fails unless each report is the first byte for byte.
func sameWithWorkers(t *testing.T, ix *catalog.Index, tune func(*Config), files ...string) []byte {
	t.Helper()
	one := scanJSON(t, ix, 1, tune, files...)
	for _, w := range []int{2, 4} {
		if got := scanJSON(t, ix, w, tune, files...); !bytes.Equal(got, one) {
			t.Errorf("%d workers: the report differs from one worker's (-one +%d):\n%s", w, w, cmp.Diff(string(one), string(got)))
		}
	}
	return one
}

// Every shared capture, alone and all in one scan (names learnt in one
// file reach the next), with every flow listed (--all), a flow table
// small enough to evict, and the NetFlow/IPFIX exports read as flows:
// the pipelined scan reports what the single one does, byte for byte.
func TestWorkersSameReportSharedCaptures(t *testing.T) {
	dir := sharedPcaps(t)
	ix := openCatalog(t)
	files := sharedFiles(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { sameWithWorkers(t, ix, nil, f) })
	}
	t.Run("all-in-one-scan", func(t *testing.T) {
		rep := sameWithWorkers(t, ix, nil, files...)
		if !bytes.Contains(rep, []byte(`"entity": "tencent"`)) {
			t.Errorf("the shared captures name no Tencent exposure: the comparison compares nothing")
		}
	})
	t.Run("evicting", func(t *testing.T) {
		rep := sameWithWorkers(t, ix, func(c *Config) { c.Flow.MaxFlows = 8 }, files...)
		if !bytes.Contains(rep, []byte("the flow table was full")) {
			t.Errorf("a table of 8 flows was never full")
		}
	})
	exports, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "netflow", "*.pcapng"))
	if err != nil || len(exports) == 0 {
		t.Fatalf("no NetFlow/IPFIX captures beside %s: %v", dir, err)
	}
	t.Run("flow-exports", func(t *testing.T) {
		rep := sameWithWorkers(t, ix, func(c *Config) { c.FlowExports = true }, exports...)
		if !bytes.Contains(rep, []byte(`"exported_flows"`)) {
			t.Errorf("no exported flow read")
		}
	})
}

// manyFlows is enough flows for more packets than four batches hold.
const manyFlows = 5500

// manyFlowsCapture writes a capture of 60 devices making 5,500 random
// moves: asking the resolver for a name that it answers with one of 40
// addresses (so that each address is renamed many times over), and
// connecting to an address with no name in the connection (named by the
// last answer only) or with a TLS ClientHello. Time jumps past the idle
// timeouts and the answers' TTLs now and then, so that flows end and
// names expire during the capture, not only at its end. Around it,
// 192.168.7.200 resolves 203.0.113.250 to an innocent name and connects,
// and after everything else resolves it to TikTok's and connects again:
// only the time order of the answers tells the two connections apart.
func manyFlowsCapture(t *testing.T) string {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	c := &capWriter{t: t, w: w, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	names := []string{"www.tiktok.com", "www.wikipedia.org", "www.temu.com", "www.example.com", "www.shein.com",
		"www.dji.com", "api.weixin.qq.com", "www.baidu.com"}
	var devs, peers []netip.Addr
	for i := range 60 {
		devs = append(devs, netip.AddrFrom4([4]byte{192, 168, 7, byte(10 + i)}))
	}
	for i := range 40 {
		peers = append(peers, netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)}))
	}
	rng := rand.New(rand.NewPCG(16, 2026))
	opaque := bytes.Repeat([]byte{0x42}, 120)
	resp := bytes.Repeat([]byte{0x17}, 300)
	port := uint16(20000)
	next := func() uint16 { port++; return port }

	marker, markerPeer := netip.MustParseAddr("192.168.7.200"), netip.MustParseAddr("203.0.113.250")
	c.lookup(marker, next(), "www.wikipedia.org", markerPeer)
	c.tcp(marker, markerPeer, 40001, 443, opaque, resp)
	for i := range manyFlows {
		if i%700 == 699 {
			c.now = c.now.Add(11 * time.Minute)
		}
		dev, peer := devs[rng.IntN(len(devs))], peers[rng.IntN(len(peers))]
		name := names[rng.IntN(len(names))]
		switch rng.IntN(3) {
		case 0:
			c.lookup(dev, next(), name, peer)
		case 1:
			c.tcp(dev, peer, next(), 443, opaque, resp)
		default:
			c.tcp(dev, peer, next(), 443, tlshello.BuildClientHello(name, []string{"h2"}), resp)
		}
	}
	c.lookup(marker, next(), "www.tiktok.com", markerPeer)
	c.tcp(marker, markerPeer, 40002, 443, opaque, resp)

	path := filepath.Join(t.TempDir(), "many.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Many flows named by DNS answers interleaved with them, over many of
// the pipeline's batches: the same report with 1, 2 and 4 workers, and
// the names are the ones of their time (see manyFlowsCapture).
func TestWorkersSameReportManyFlows(t *testing.T) {
	ix := openCatalog(t)
	path := manyFlowsCapture(t)
	for _, tc := range []struct {
		name string
		tune func(*Config)
	}{
		{"default", nil},
		{"evicting", func(c *Config) { c.Flow.MaxFlows = 64 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sameWithWorkers(t, ix, tc.tune, path)
			var rep Report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Stats.Flows < manyFlows || rep.Stats.Packets < 4*batches*batchItems {
				t.Errorf("%d flows in %d packets: too few to cross many batches", rep.Stats.Flows, rep.Stats.Packets)
			}
			named := map[string]string{} // marker flow's device port → name/entity
			dnsNamed := 0
			for _, d := range rep.Devices {
				for _, f := range d.Flows {
					if f.Proto != "tcp" {
						continue
					}
					if d.Address == "192.168.7.200" {
						named[f.Device] = f.Name + "/" + f.Entity
					}
					if f.Name != "" && f.Entity != "" && !strings.HasPrefix(f.Peer, "203.0.113.250") {
						dnsNamed++
					}
				}
			}
			want := map[string]string{"192.168.7.200:40001": "www.wikipedia.org/", "192.168.7.200:40002": "www.tiktok.com/tiktok"}
			if diff := cmp.Diff(want, named); diff != "" {
				t.Errorf("the marker's connections by the answer before each (-want +got):\n%s", diff)
			}
			if dnsNamed < 500 {
				t.Errorf("only %d flows named and attributed", dnsNamed)
			}
		})
	}
}

// A batch keeps each payload as it was when added, though the reader's
// buffer is overwritten by the next packet: in its arena while there is
// room, in a copy of its own when larger than any arena.
func TestBatchCopiesPayloads(t *testing.T) {
	b := &batch{items: make([]item, 0, 4), arena: make([]byte, 0, 100)}
	buf := make([]byte, 300)
	add := func(n int, fill byte) bool {
		for i := range buf {
			buf[i] = fill
		}
		it := item{p: decode.Packet{Payload: buf[:n]}}
		return b.add(&it)
	}
	for _, tc := range []struct {
		n    int
		fill byte
		ok   bool
	}{
		{60, 'a', true},
		{40, 'b', true},  // fills the arena
		{1, 'c', false},  // no room left
		{0, 'd', true},   // an empty payload needs none
		{250, 'e', true}, // larger than the arena: a copy of its own
		{10, 'f', false}, // four items: full
	} {
		if got := add(tc.n, tc.fill); got != tc.ok {
			t.Errorf("add %d bytes: %v, want %v", tc.n, got, tc.ok)
		}
	}
	var got []string
	for _, it := range b.items {
		got = append(got, string(it.p.Payload))
	}
	want := []string{strings.Repeat("a", 60), strings.Repeat("b", 40), "", strings.Repeat("e", 250)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
}

// BenchmarkScanWorkers scans the shared captures in one scan, or the
// capture OUTFLOW_BENCH_PCAP names (bench/scan/distinct.sh builds the
// issue's), on one goroutine and pipelined:
//
//	OUTFLOW_BENCH_PCAP=/tmp/outflow-bench-distinct/distinct-40.pcap \
//	  go test -run '^$' -bench ScanWorkers -cpuprofile cpu.out ./internal/scan/
func BenchmarkScanWorkers(b *testing.B) {
	files := []string{os.Getenv("OUTFLOW_BENCH_PCAP")}
	if files[0] == "" {
		var err error
		if files, err = filepath.Glob(filepath.Join(sharedPcaps(b), "*.pcap")); err != nil || len(files) == 0 {
			b.Fatalf("no shared captures: %v", err)
		}
	}
	ix := openCatalog(b)
	for _, w := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			for b.Loop() {
				cfg := DefaultConfig()
				cfg.Workers = w
				cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
				s := New(cfg, attribute.New(ix))
				for _, f := range files {
					if err := s.ReadFile(context.Background(), f); err != nil {
						b.Fatal(err)
					}
				}
				s.Finish(testAt)
			}
		})
	}
}

// PipelineMin pipelines only the captures of at least its size, in one
// scan of several (the largest first: the first pipelined capture must
// not decide the others): the same report, whichever way each file went.
func TestPipelineMin(t *testing.T) {
	ix := openCatalog(t)
	files := sharedFiles(t)
	sizes := map[int64]int{} // captures by size
	size := map[string]int64{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		sizes[st.Size()]++
		size[f] = st.Size()
	}
	slices.SortStableFunc(files, func(a, b string) int { // the largest first
		switch {
		case size[a] > size[b]:
			return -1
		case size[a] < size[b]:
			return 1
		}
		return 0
	})
	// the second largest size: the files of that size and larger
	var first, second int64
	for n := range sizes {
		if n > first {
			first, second = n, first
		} else if n > second {
			second = n
		}
	}
	one := scanJSON(t, ix, 1, nil, files...)
	for _, tc := range []struct {
		min       int64
		pipelined int
	}{{0, len(files)}, {second, sizes[first] + sizes[second]}, {first, sizes[first]}, {first + 1, 0}} {
		cfg := DefaultConfig()
		cfg.All = true
		cfg.Workers, cfg.PipelineMin = 2, tc.min
		cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
		s := New(cfg, attribute.New(ix))
		for _, f := range files {
			if err := s.ReadFile(context.Background(), f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		if s.pipelined != tc.pipelined {
			t.Errorf("PipelineMin %d: %d captures pipelined, want %d", tc.min, s.pipelined, tc.pipelined)
		}
		got, err := json.MarshalIndent(s.Finish(testAt), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, one) {
			t.Errorf("PipelineMin %d: the report differs from one worker's:\n%s", tc.min, cmp.Diff(string(one), string(got)))
		}
	}
}
