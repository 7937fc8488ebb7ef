package neigh

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
)

// MaxFile bounds a file read: a neighbour table or a lease file.
const MaxFile = 32 << 20

// MaxClients bounds the addresses a Table keeps.
const MaxClients = 1 << 18

// Client is what is known of an address beyond it.
type Client struct {
	MAC      MAC    // zero: unknown
	Hostname string // "": unknown
}

// Config says where clients are learnt from.
type Config struct {
	// ARP is the kernel's IPv4 neighbour table in /proc/net/arp's format;
	// "" reads none.
	ARP string
	// IPv6 also asks the kernel for its IPv6 neighbours (netlink; Linux
	// only, nothing elsewhere).
	IPv6 bool
	// Leases are DHCP lease files, dnsmasq's or ISC dhcpd's; for an
	// address in several, the first file that has it is taken.
	Leases []string
}

// Table reads the neighbour table on every Read and the lease files when
// they change. It is not safe for concurrent use.
type Table struct {
	cfg    Config
	leases []leaseFile
}

type leaseFile struct {
	path  string
	size  int64
	mod   time.Time
	read  time.Time // when it was parsed: leases end with time too
	byIP  map[netip.Addr]Lease
	valid bool
}

// leaseReread is how often an unchanged lease file is parsed again, so
// that leases that end drop out.
const leaseReread = time.Minute

// New makes a Table; it reads nothing.
func New(cfg Config) *Table {
	t := &Table{cfg: cfg}
	for _, p := range cfg.Leases {
		t.leases = append(t.leases, leaseFile{path: p})
	}
	return t
}

// Read is what the files and the kernel say now: an address's MAC from the
// neighbour tables, else from a lease; its hostname from a lease. A file
// that cannot be read is reported in err; the others are still read, and
// a lease file read before keeps its last content.
func (t *Table) Read(now time.Time) (map[netip.Addr]Client, error) {
	out := map[netip.Addr]Client{}
	var errs []error
	full := false
	put := func(ip netip.Addr, f func(*Client)) {
		c, ok := out[ip]
		if !ok && len(out) >= MaxClients {
			full = true
			return
		}
		f(&c)
		out[ip] = c
	}
	if t.cfg.ARP != "" {
		b, err := readFile(t.cfg.ARP)
		if err != nil {
			errs = append(errs, err)
		}
		ParseARP(b, func(ip netip.Addr, m MAC) { put(ip, func(c *Client) { c.MAC = m }) })
	}
	if t.cfg.IPv6 {
		if err := ipv6Neighbours(func(ip netip.Addr, m MAC) { put(ip, func(c *Client) { c.MAC = m }) }); err != nil {
			errs = append(errs, fmt.Errorf("IPv6 neighbours: %w", err))
		}
	}
	for i := range t.leases {
		lf := &t.leases[i]
		if err := lf.refresh(now); err != nil {
			errs = append(errs, err)
		}
		for ip, l := range lf.byIP {
			put(ip, func(c *Client) {
				if c.MAC == (MAC{}) {
					c.MAC = l.MAC
				}
				if c.Hostname == "" {
					c.Hostname = l.Hostname
				}
			})
		}
	}
	if full {
		errs = append(errs, fmt.Errorf("more than %d clients: the rest are left out", MaxClients))
	}
	return out, errors.Join(errs...)
}

// refresh parses the file again when its size or time changed, or when
// its leases may have ended since it was parsed.
func (lf *leaseFile) refresh(now time.Time) error {
	info, err := os.Stat(lf.path)
	if err != nil {
		return fmt.Errorf("lease file: %w", err)
	}
	if lf.valid && info.Size() == lf.size && info.ModTime().Equal(lf.mod) && now.Sub(lf.read) < leaseReread && !now.Before(lf.read) {
		return nil
	}
	b, err := readFile(lf.path)
	if err != nil {
		return err
	}
	byIP := map[netip.Addr]Lease{}
	ParseLeases(b, now, func(l Lease) {
		if len(byIP) < MaxClients {
			byIP[l.Addr] = l
		}
	})
	lf.byIP, lf.size, lf.mod, lf.read, lf.valid = byIP, info.Size(), info.ModTime(), now, true
	return nil
}

// readFile reads at most MaxFile bytes: /proc files have no size to trust.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFile)
	}
	return b, nil
}
