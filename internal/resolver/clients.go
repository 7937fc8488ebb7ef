package resolver

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/resolver/neigh"
)

// Clients says where the resolver learns its clients' MACs and hostnames,
// for the policy's groups by macs and hostnames (docs/policy.md, "Groups
// by MAC and hostname"). Nothing is read while the policy has no such
// group.
type Clients struct {
	// Neighbours is the kernel's IPv4 neighbour table, /proc/net/arp's
	// format; "" for none.
	Neighbours string `yaml:"neighbours"`
	// IPv6Neighbours also asks the kernel for its IPv6 neighbours
	// (netlink, Linux only).
	IPv6Neighbours bool `yaml:"ipv6_neighbours"`
	// Leases are DHCP lease files, dnsmasq's (dhcp.leases) or ISC
	// dhcpd's (dhcpd.leases), told apart by content.
	Leases []string `yaml:"leases"`
	// Refresh is how often the tables are read; a query from an address
	// they lack reads them again, at most once a second.
	Refresh time.Duration `yaml:"refresh"`
}

// defaultClients reads the kernel's tables where there is one to read.
func defaultClients() Clients {
	c := Clients{Refresh: 10 * time.Second}
	if runtime.GOOS == "linux" {
		c.Neighbours, c.IPv6Neighbours = "/proc/net/arp", true
	}
	return c
}

// missEvery bounds the reads a query from an unknown address causes.
const missEvery = time.Second

// maxMissed bounds the addresses remembered as absent from the tables
// after the read they asked for; past it, an unknown address asks no
// more reads and waits for the periodic one.
const maxMissed = 65_536

// devices are the groups of the clients the tables know, under one
// state's policy: built off the query path when the tables are read or
// the policy is reloaded, read per query without allocating.
type devices struct {
	groups map[netip.Addr]policy.Membership // every address the tables know
	// missed are addresses that asked for a read and were not in it
	// (a forwarder on 127.0.0.1, clients beyond a router): they ask for
	// no more reads, and the periodic one still finds them if they come
	missed map[netip.Addr]struct{}
}

// clientTable keeps the last read of the tables, from which each new
// state's devices are built.
type clientTable struct {
	tab    *neigh.Table
	miss   chan struct{}   // a query from an unknown address, or a reload
	asked  chan netip.Addr // the unknown addresses that asked, as many as it holds
	mu     sync.Mutex      // held while devices are built and stored
	last   map[netip.Addr]neigh.Client
	missed map[netip.Addr]struct{} // see devices.missed; replaced, never changed
	err    string                  // the last read's error, logged when it changes

	known  atomic.Int64
	reads  prometheus.Counter
	failed prometheus.Counter
}

func newClientTable(cfg Clients, m *metrics) *clientTable {
	t := &clientTable{
		tab:   neigh.New(neigh.Config{ARP: cfg.Neighbours, IPv6: cfg.IPv6Neighbours, Leases: cfg.Leases}),
		miss:  make(chan struct{}, 1),
		asked: make(chan netip.Addr, 256),
	}
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outflow_resolver_client_table_reads_total",
		Help: "Reads of the neighbour tables and DHCP leases for groups by MAC and hostname, by result (failed: a file could not be read)."}, []string{"result"})
	t.reads, t.failed = reads.WithLabelValues("ok"), reads.WithLabelValues("failed")
	m.reg.MustRegister(reads, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_resolver_client_table_addresses",
		Help: "Client addresses with a MAC or hostname from the last read."}, func() float64 { return float64(t.known.Load()) }))
	return t
}

// wake asks for a read without waiting: a full channel already asks.
func (t *clientTable) wake() {
	select {
	case t.miss <- struct{}{}:
	default:
	}
}

// devicesFor builds the devices of pol from the last read; nil when the
// policy has no group by MAC or hostname. The caller holds t.mu.
func (t *clientTable) devicesFor(pol *policy.Policy) *devices {
	if !pol.HasDeviceGroups() {
		return nil
	}
	d := &devices{groups: make(map[netip.Addr]policy.Membership, len(t.last)), missed: t.missed}
	for ip, c := range t.last {
		d.groups[ip] = pol.ClientGroups(policy.Client{MAC: policy.MAC(c.MAC), Hostname: c.Hostname})
	}
	return d
}

// deviceGroups adds to a query's groups those of its client's MAC and
// hostname. A client the tables lack asks for a read.
func (s *Server) deviceGroups(x *exchange) {
	d := x.st.devices.Load()
	if d == nil {
		return
	}
	a := x.cl.addr.Unmap().WithZone("")
	if m, ok := d.groups[a]; ok {
		x.groups = x.groups.Or(m)
		return
	}
	if _, ok := d.missed[a]; ok || len(d.missed) >= maxMissed {
		return
	}
	select {
	case s.clients.asked <- a:
	default: // full: those in it ask already
	}
	s.clients.wake()
}

// readClients reads the tables and installs devices built from them for
// the state in force.
func (s *Server) readClients() {
	t := s.clients
	if !s.state.Load().pol.HasDeviceGroups() {
		return
	}
	m, err := t.tab.Read(s.now())
	t.mu.Lock()
	defer t.mu.Unlock()
	msg := ""
	if err != nil {
		msg = err.Error()
		t.failed.Inc()
	} else {
		t.reads.Inc()
	}
	if msg != t.err {
		if msg != "" {
			s.log.Warn("client table: groups by MAC and hostname may miss clients", "err", err)
		} else {
			s.log.Info("client table: read again without errors")
		}
		t.err = msg
	}
	t.last = m
	t.known.Store(int64(len(m)))
	// the addresses that asked and are still unknown join those missed
	// before; one that the tables now list leaves them
	missed := make(map[netip.Addr]struct{}, len(t.missed))
	for a := range t.missed {
		if _, ok := m[a]; !ok {
			missed[a] = struct{}{}
		}
	}
	for more := true; more; {
		select {
		case a := <-t.asked:
			if _, ok := m[a]; !ok && len(missed) < maxMissed {
				missed[a] = struct{}{}
			}
		default:
			more = false
		}
	}
	t.missed = missed
	st := s.state.Load()
	st.devices.Store(t.devicesFor(st.pol))
}

// refreshClients reads the tables every Refresh, and when a query from an
// unknown address or a reload asks, at most once every missEvery.
func (s *Server) refreshClients(ctx context.Context) {
	every := s.cfg.Clients.Refresh
	if every <= 0 {
		every = defaultClients().Refresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := time.Now() // Start has read them
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.clients.miss:
			if wait := missEvery - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		s.readClients()
		last = time.Now()
		select { // asked before the read, which answered it
		case <-s.clients.miss:
		default:
		}
	}
}
