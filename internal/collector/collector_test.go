package collector

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/ingest/netflow/exportfile"
	"github.com/outflow-dev/outflow/internal/ingest/sflow"
	"github.com/outflow-dev/outflow/internal/ingest/sflow/sflowtest"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func datagrams(t *testing.T, name string) []exportfile.Datagram {
	t.Helper()
	ds, err := exportfile.Read(sharedtest.Path(t, "netflow", name))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

type totals struct {
	mu            sync.Mutex
	records       int
	fwd, rev      uint64
	undated, site int
}

func (s *totals) add(f *flowrec.Flow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records++
	s.fwd += f.BytesOut
	s.rev += f.BytesIn
	if f.First == 0 {
		s.undated++
	}
	if f.Site != "" {
		s.site++
	}
}

func (s *totals) get() (int, uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.fwd, s.rev
}

func TestLoopbackIPFIX(t *testing.T) {
	ds := datagrams(t, "ipfix_bidir_from_wechat.pcapng")
	var tot totals
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.Decoder.Site = func(a netip.Addr, _ uint32) string { return a.String() }
	c := New(cfg, Deps{Sink: tot.add})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(c.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range ds {
		if _, err := conn.Write(d.Payload); err != nil {
			t.Fatal(err)
		}
	}
	conn.Write([]byte("garbage that is no export"))
	conn.Write([]byte{0, 0, 0, 5, 0, 0, 0, 1}) // sFlow v5 header
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && sum(t, c.Registry(), "outflow_collector_sflow_dropped_total") < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	n, fwd, rev := tot.get()
	if n != 103 || fwd != 279792 || rev != 364110 {
		t.Fatalf("%d records, forward %d, reverse %d; want 103, 279792, 364110", n, fwd, rev)
	}
	if tot.undated != 0 || tot.site != n {
		t.Errorf("%d records undated, %d with a site", tot.undated, tot.site)
	}
	st := c.Stats()
	if st.Errors != 1 || st.Records != 103 {
		t.Errorf("stats %+v", st)
	}
	if got := sum(t, c.Registry(), "outflow_collector_records_total"); got != 103 {
		t.Errorf("records metric %v", got)
	}
	if got := sum(t, c.Registry(), "outflow_collector_decode_errors_total"); got != 1 {
		t.Errorf("decode errors metric %v", got)
	}
}

// sum adds a series' values over its labels (and checks the exporter label
// names a loopback exporter).
func sum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "exporter" && !strings.HasPrefix(l.GetValue(), "127.0.0.1:") {
					t.Errorf("%s: exporter %q", name, l.GetValue())
				}
			}
			v += m.GetCounter().GetValue()
		}
	}
	return v
}

func FuzzDatagram(f *testing.F) {
	f.Add([]byte{0, 10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 5, 0, 0, 0, 1})
	f.Add([]byte{0, 5, 0, 1})
	f.Add(sflowtest.Datagram(netip.MustParseAddr("192.0.2.1"), 0, 1, sflowtest.CounterSample(1),
		sflowtest.FlowSample(2, 100, sflowtest.RawHeader(1, 1500, sflowtest.TCPFrame(netip.MustParseAddrPort("10.0.0.5:5000"), netip.MustParseAddrPort("192.0.2.9:443"), 1, []byte("x"))))))
	c := New(DefaultConfig(), Deps{Sink: func(*flowrec.Flow) {}, Packet: func(*sflow.Sample) {}})
	from := netip.MustParseAddrPort("192.0.2.1:2055")
	f.Fuzz(func(t *testing.T, b []byte) {
		c.Datagram(from, b)
	})
}

// sFlow on the same port: flow samples' headers go to Deps.Packet with
// their rate, counter samples are counted, all per exporter.
func TestLoopbackSFlow(t *testing.T) {
	var mu sync.Mutex
	var bytes, pkts uint64
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	c := New(cfg, Deps{Sink: func(*flowrec.Flow) { t.Error("an sFlow datagram made a flow record") }, Packet: func(s *sflow.Sample) {
		mu.Lock()
		bytes += uint64(s.FrameLen) * s.Rate
		pkts += s.Rate
		mu.Unlock()
	}})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(c.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := sflowtest.TCPFrame(netip.MustParseAddrPort("10.0.0.5:5000"), netip.MustParseAddrPort("192.0.2.9:443"), 1, []byte("x"))
	conn.Write(sflowtest.Datagram(netip.MustParseAddr("127.0.0.1"), 0, 1,
		sflowtest.FlowSample(1, 100, sflowtest.RawHeader(1, 1500, frame)), sflowtest.CounterSample(2)))
	conn.Write(sflowtest.Datagram(netip.MustParseAddr("127.0.0.1"), 0, 2, sflowtest.FlowSample(3, 7, sflowtest.RawHeader(1, 64, frame))))
	conn.Write([]byte{0, 0, 0, 5, 0, 0, 0, 1}) // truncated
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && sum(t, c.Registry(), "outflow_collector_sflow_datagrams_total") < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if bytes != 1500*100+64*7 || pkts != 107 {
		t.Errorf("scaled %d bytes %d packets, want %d %d", bytes, pkts, 1500*100+64*7, 107)
	}
	for name, want := range map[string]float64{"outflow_collector_sflow_datagrams_total": 3, "outflow_collector_sflow_samples_total": 3,
		"outflow_collector_sflow_headers_total": 2, "outflow_collector_sflow_decode_errors_total": 1, "outflow_collector_sflow_dropped_total": 0} {
		if got := sum(t, c.Registry(), name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
