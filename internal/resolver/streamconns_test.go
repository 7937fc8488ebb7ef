package resolver

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dialIdle opens n TCP connections from local address src that send
// nothing, as a hostile client would; they are closed when the test ends.
func dialIdle(t *testing.T, addr, src string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d from %s: %v", i, src, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// askTCP asks over TCP from local address src.
func (h *harness) askTCP(src, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}}
	r, _, err := c.Exchange(msg(name, qtype), h.tcp)
	return r, err
}

// TestTCPPerClientCap is issue 10's probe: one address opens more idle
// connections than the whole table holds; another client must still be
// answered over TCP (where truncated UDP answers send it).
func TestTCPPerClientCap(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) {
		c.Listen.MaxTCP, c.Listen.MaxTCPPerClient, c.Listen.TCPIdle = 48, 8, 10*time.Second
	})
	const hostile = 64 // more than max_tcp
	dialIdle(t, h.tcp, "127.0.0.1", hostile)
	h.waitMetric(fmt.Sprintf(`outflow_resolver_tcp_refused_total{reason="client"} %d`, hostile-8))
	h.waitMetric(`outflow_resolver_tcp_connections 8`)
	h.waitMetric(`outflow_resolver_tcp_refused_total{reason="limit"} 0`)
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		r, err := h.askTCP(src, "plain.example", dns.TypeA)
		if err != nil || r.Rcode != dns.RcodeSuccess {
			t.Errorf("client %s over TCP while 127.0.0.1 holds its share: %v %v", src, r, err)
		}
	}
	// The truncation fallback: a large answer over UDP, then TCP.
	r, err := h.exchange(from("127.0.0.2"), msg("big.example", dns.TypeTXT), h.udp)
	if err != nil || !r.Truncated {
		t.Fatalf("big.example over UDP: %v %v", r, err)
	}
	if r, err := h.askTCP("127.0.0.2", "big.example", dns.TypeTXT); err != nil || r.Truncated || len(r.Answer) != 12 {
		t.Errorf("TCP retry of a truncated answer: %v %v", r, err)
	}
}

// TestTCPIdleShrinksUnderPressure: as the table fills, idle connections,
// those already open included, are closed long before tcp_idle.
func TestTCPIdleShrinksUnderPressure(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) {
		c.Listen.MaxTCP, c.Listen.MaxTCPPerClient, c.Listen.TCPIdle = 20, 0, 10*time.Second
	})
	if got := h.srv.streams.idleNow(); got != 10*time.Second {
		t.Fatalf("idle timeout of an empty table %v", got)
	}
	for open, want := range map[int]time.Duration{0: 10 * time.Second, 9: 10 * time.Second, 10: 100 * time.Millisecond,
		13: 20 * time.Millisecond, 16: streamIdleFloor, 20: streamIdleFloor} {
		if got := h.srv.streams.idleAt(h.srv.streams.levelOf(open)); got != want {
			t.Errorf("%d of 20 open: idle %v, want %v", open, got, want)
		}
	}
	start := time.Now()
	conns := dialIdle(t, h.tcp, "127.0.0.1", 12) // 60 % full: a hundredth of tcp_idle
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF && !strings.Contains(fmt.Sprint(err), "reset") {
			t.Errorf("idle connection %d: read %v, want the server to close it", i, err)
		}
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("idle connections closed after %v under pressure; tcp_idle is 10s", el)
	}
	h.waitMetric(`outflow_resolver_tcp_connections 0`)
	h.waitMetric(`outflow_resolver_tcp_idle_timeout_seconds 10`)
	if r, err := h.askTCP("127.0.0.2", "plain.example", dns.TypeA); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("TCP after the idle connections were reaped: %v %v", r, err)
	}
}
