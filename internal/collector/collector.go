// Package collector receives flow exports over UDP — NetFlow v5 and v9,
// IPFIX — from routers and firewalls, decodes them (internal/ingest/netflow,
// on goflow2's decoders) and hands each record, as the core's flow record
// with its exporter's site, to a sink. It counts everything per exporter
// (datagrams, records, decode errors, template misses, drops with their
// reason, future times) for Prometheus, and logs a summary of bad input at
// most once a minute: a hostile or broken exporter is counted, never fatal.
//
// sFlow v5 datagrams on the same ports are decoded by internal/ingest/sflow
// and each sampled packet header goes to Deps.Packet (the sensor's per-site
// packet trackers), scaled there by its sampling rate; see docs/sensor.md.
//
// It must never import the catalog, attribute, the store or a command.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/ingest/netflow"
	"github.com/outflow-dev/outflow/internal/ingest/sflow"
)

// Config is the collector's configuration.
type Config struct {
	// Listen are UDP addresses ("0.0.0.0:2055", "[::]:4739").
	Listen []string
	// ReadBuffer is the socket receive buffer asked of the kernel: it
	// holds the datagrams that arrive while the reader is busy (16 MiB:
	// about a second of 100,000 records/s). Linux caps it at
	// net.core.rmem_max unless the process may pass the cap
	// (CAP_NET_ADMIN), which the collector then does.
	ReadBuffer int
	// Decoder bounds the template and held-set memory.
	Decoder netflow.Config
	// SFlow configures the sFlow v5 decoder (its Site is Decoder.Site's
	// when nil).
	SFlow sflow.Config
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{ReadBuffer: 16 << 20, Decoder: netflow.DefaultConfig(), SFlow: sflow.DefaultConfig()}
}

// Deps are what the collector needs.
type Deps struct {
	Log *slog.Logger
	// Sink takes each record; it is called from the listener goroutines
	// (one per address) and must be safe for concurrent use. The record
	// is valid only during the call.
	Sink func(*flowrec.Flow)
	// Packet takes each sFlow sampled packet header; nil drops them
	// (counted in outflow_collector_sflow_dropped_total). It is called
	// from the listener goroutines, one at a time, and must not keep s.
	Packet func(s *sflow.Sample)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Collector is the UDP flow collector.
type Collector struct {
	cfg   Config
	deps  Deps
	dec   *netflow.Decoder
	sfl   *sflow.Decoder
	conns []*net.UDPConn
	wg    sync.WaitGroup
	met   *metrics
	stop  chan struct{}
	// closing: the readers drain what the kernel queued, then stop
	closing atomic.Bool
	// bad input, summarised once a minute
	bad     atomic.Uint64
	lastErr atomic.Pointer[string]
}

// New returns an inert collector.
func New(cfg Config, deps Deps) *Collector {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.SFlow.Site == nil {
		cfg.SFlow.Site = cfg.Decoder.Site
	}
	c := &Collector{cfg: cfg, deps: deps, dec: netflow.NewWith(cfg.Decoder), sfl: sflow.New(cfg.SFlow), stop: make(chan struct{})}
	c.met = newMetrics(c)
	return c
}

// Registry holds the collector's series.
func (c *Collector) Registry() *prometheus.Registry { return c.met.reg }

// Addrs are the bound addresses (after Start), in Listen order.
func (c *Collector) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, u := range c.conns {
		out = append(out, u.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// Start binds every address and starts reading. A bind failure closes
// what was bound and is returned.
func (c *Collector) Start(ctx context.Context) error {
	for _, a := range c.cfg.Listen {
		pc, err := (&net.ListenConfig{}).ListenPacket(ctx, "udp", a)
		if err != nil {
			c.Close()
			return fmt.Errorf("collector: --flow-listen %s: %w", a, err)
		}
		u := pc.(*net.UDPConn)
		if c.cfg.ReadBuffer > 0 {
			setReadBuffer(u, c.cfg.ReadBuffer)
		}
		c.conns = append(c.conns, u)
	}
	for _, u := range c.conns {
		c.wg.Add(1)
		go c.read(u)
	}
	c.wg.Add(1)
	go c.summarise(ctx)
	return nil
}

func (c *Collector) read(u *net.UDPConn) {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := u.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || c.closing.Load() {
				return
			}
			c.met.readErrors.Inc()
			continue
		}
		c.Datagram(from, buf[:n])
	}
}

// Datagram decodes one datagram from an exporter (the listeners call it;
// tests and replays may too).
func (c *Collector) Datagram(from netip.AddrPort, b []byte) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	var err error
	switch {
	case !sflow.IsSFlow(b):
		err = c.dec.Decode(from, b, c.deps.Now(), c.deps.Sink)
	case c.deps.Packet == nil:
		c.met.sflow.Inc()
	default:
		err = c.sfl.Decode(from, b, c.deps.Now(), c.deps.Packet)
	}
	if err != nil {
		if c.bad.Add(1) == 1 {
			s := fmt.Sprintf("exporter %s: %v", from, err)
			c.lastErr.Store(&s)
		}
	}
}

// summarise logs bad input at most once a minute, and drops held sets
// whose template never came.
func (c *Collector) summarise(ctx context.Context) {
	defer c.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := c.deps.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.stop:
			return
		case <-tick.C:
		}
		now := c.deps.Now()
		c.dec.Expire(now)
		if now.Sub(last) < time.Minute {
			continue
		}
		last = now
		if n := c.bad.Swap(0); n > 0 {
			msg := ""
			if p := c.lastErr.Swap(nil); p != nil {
				msg = *p
			}
			c.deps.Log.Warn("collector: bad export datagrams in the last minute", "count", n, "last", msg)
		}
	}
}

// Stats is the decoder's total over every exporter.
func (c *Collector) Stats() netflow.Stats { return c.dec.Total() }

// SFlowStats is the sFlow decoder's total over every exporter.
func (c *Collector) SFlowStats() sflow.Stats { return c.sfl.Total() }

// DrainFor bounds how long Close keeps reading the datagrams the kernel
// had already queued (a shutdown must not lose what arrived before it).
const DrainFor = time.Second

// Close reads what the kernel already queued (for at most DrainFor), then
// stops the listeners and waits for them.
func (c *Collector) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.closing.Store(true)
	for _, u := range c.conns {
		// a read returns at once while datagrams are queued; the first
		// that finds the queue empty waits at most until the deadline
		_ = u.SetReadDeadline(time.Now().Add(DrainFor))
	}
	c.wg.Wait()
	for _, u := range c.conns {
		u.Close()
	}
	c.wg.Wait()
	c.conns = nil
	return nil
}
