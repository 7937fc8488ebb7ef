//go:build linux

package resolver

import (
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
)

var dropsLine = regexp.MustCompile(`(?m)^outflow_resolver_udp_receive_drops_total (\S+)$`)

func (h *harness) udpDrops() float64 {
	h.t.Helper()
	m := dropsLine.FindStringSubmatch(h.scrape())
	if m == nil {
		h.t.Fatal("no outflow_resolver_udp_receive_drops_total in the metrics")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// TestKernelDropsAreCounted is issue 10's dnsperf finding: queries the
// kernel dropped with a full receive buffer were in no metric. A resolver
// whose only worker is held (the query log in block mode behind a stuck
// sink) stops reading; a bounded flood overflows its socket's buffer, and
// the drops show in the metrics.
func TestKernelDropsAreCounted(t *testing.T) {
	gate := &gateSink{entered: make(chan heldBatch, 1), pass: make(chan struct{})}
	h := newHarnessWith(t, testPolicy, func(c *Config) {
		c.Listen.Workers = 1
		c.QueryLog.Buffer, c.QueryLog.Batch, c.QueryLog.Overflow = 4, 1, querylog.Block
		c.RateLimit.Rate = 0
	}, gate)
	if d := h.udpDrops(); d != 0 {
		t.Fatalf("drops before the flood: %v", d)
	}
	conn, err := net.Dial("udp", h.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, _ := msg("www.tiktok.com", dns.TypeA).Pack()
	deadline := time.Now().Add(5 * time.Second)
	sent := 0
	for sent < 20000 && time.Now().Before(deadline) {
		conn.Write(q) // the resolver's errors come back as ICMP, not here
		sent++
		if sent%1000 == 0 && h.udpDrops() > 0 {
			break
		}
	}
	if d := h.udpDrops(); d == 0 {
		t.Errorf("%d datagrams sent to a resolver that reads none: no drops counted", sent)
	}
	// Let the writer go so that Close does not wait for it.
	go func() {
		for {
			select {
			case <-gate.entered:
			case gate.pass <- struct{}{}:
			case <-time.After(15 * time.Second):
				return
			}
		}
	}()
}
