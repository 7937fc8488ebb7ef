package sensorcmd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/ingest/sflow/sflowtest"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
)

// TestSFlowSampledHeaders sends sFlow v5 datagrams to the sensor over
// loopback: the sampled headers go through the packet tracker, so the
// flow is named by its ClientHello's SNI and attributed to TikTok, and
// the store holds the sampled frames' lengths (from the record, not the
// truncated header) and counts scaled by the sampling rate, once across
// flushes. Counter samples add nothing.
func TestSFlowSampledHeaders(t *testing.T) {
	dev := netip.MustParseAddrPort("10.0.0.5:50000")
	peer := netip.MustParseAddrPort("23.50.60.70:443")
	agent := netip.MustParseAddr("127.0.0.1")
	hello := tlshello.BuildClientHello("www.tiktok.com", []string{"h2"})
	out := sflowtest.TCPFrame(dev, peer, 1000, hello)
	in := sflowtest.TCPFrame(peer, dev, 5000, make([]byte, 1400))
	ack := sflowtest.TCPFrame(dev, peer, 1000+uint32(len(hello)), nil)
	first := sflowtest.Datagram(agent, 0, 1,
		sflowtest.FlowSample(1, 512, sflowtest.RawHeader(1, 1514, out)),
		sflowtest.CounterSample(2),
		sflowtest.FlowSample(3, 512, sflowtest.RawHeader(1, 1454, in[:128])), // the header cut at 128 bytes
	)
	second := sflowtest.Datagram(agent, 0, 2, sflowtest.ExpandedFlowSample(4, 1024, sflowtest.RawHeader(1, 66, ack)))
	const (
		wantOut     = 1514*512 + 66*1024
		wantIn      = 1454 * 512
		wantPktsOut = 512 + 1024
		wantPktsIn  = 512
	)

	db := filepath.Join(t.TempDir(), "s.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, testEnv(io.Discard, &stderr), []string{"--store", db, "--flow-listen", "127.0.0.1:0", "--flush", "200ms", "--site", "branch-2"})
	}()
	c, err := net.Dial("udp", waitAddr(t, &stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(first)
	time.Sleep(400 * time.Millisecond) // the flow lives across a flush
	c.Write(second)
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5 s of the cancel")
	}

	cfg := store.DefaultConfig()
	cfg.Path = db
	st, err := backend.OpenReadOnly(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Flows(context.Background(), store.Filter{Until: time.Now().AddDate(1, 0, 0), Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var tot store.Traffic
	for _, r := range rows {
		if r.Device != "branch-2/10.0.0.5" || r.Peer != "23.50.60.70" || r.Entity != "tiktok" || r.Name != "www.tiktok.com" {
			t.Errorf("row %+v: want branch-2/10.0.0.5 to 23.50.60.70, www.tiktok.com, tiktok", r)
		}
		tot.BytesOut += r.BytesOut
		tot.BytesIn += r.BytesIn
		tot.PacketsOut += r.PacketsOut
		tot.PacketsIn += r.PacketsIn
	}
	if len(rows) == 0 || tot.BytesOut != wantOut || tot.BytesIn != wantIn || tot.PacketsOut != wantPktsOut || tot.PacketsIn != wantPktsIn {
		t.Fatalf("%d rows, totals %+v; want out %d/%d in %d/%d\n%s", len(rows), tot, wantOut, wantPktsOut, wantIn, wantPktsIn, stderr.String())
	}
	if s := stderr.String(); !strings.Contains(s, "sFlow: 2 datagrams, 3 flow samples, 3 sampled headers, 1 counter samples, 0 decode errors") {
		t.Errorf("no sFlow summary on stderr:\n%s", s)
	}
}
