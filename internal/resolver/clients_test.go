package resolver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// devicePolicy blocks acme.example for a vendor's devices (by the OUI of
// their MAC) and for kiosks (by the hostname in their DHCP lease).
const devicePolicy = `
groups:
  - name: cameras
    macs: [a4:c1:38]
  - name: kiosks
    hostnames: ["kiosk-*"]
rules:
  - id: devices-acme
    action: block
    names: [acme.example]
    groups: [cameras, kiosks]
`

const arpHeader = "IP address       HW type     Flags       HW address            Mask     Device\n"

// clientFiles writes a neighbour table and a dnsmasq lease file and
// points the configuration at them.
func clientFiles(t *testing.T, arp, leases string, refresh time.Duration) (arpPath, leasePath string, mutate func(*Config)) {
	t.Helper()
	dir := t.TempDir()
	arpPath, leasePath = filepath.Join(dir, "arp"), filepath.Join(dir, "dhcp.leases")
	writeFile(t, arpPath, arpHeader+arp)
	writeFile(t, leasePath, leases)
	return arpPath, leasePath, func(c *Config) {
		c.Clients = Clients{Neighbours: arpPath, Leases: []string{leasePath}, Refresh: refresh}
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) rcodeFrom(ip, name string) int {
	h.t.Helper()
	r, err := h.exchange(from(ip), msg(name, dns.TypeA), h.udp)
	if err != nil {
		h.t.Fatalf("%s from %s: %v", name, ip, err)
	}
	return r.Rcode
}

// eventually polls until the query from ip gets want, for up to 5 s.
func (h *harness) eventually(ip, name string, want int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := h.rcodeFrom(ip, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s from %s: %s, want %s", name, ip, dns.RcodeToString[got], dns.RcodeToString[want])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGroupsByMACAndHostname(t *testing.T) {
	arp, _, mutate := clientFiles(t,
		"127.0.0.5        0x1         0x2         a4:c1:38:00:00:05     *        eth0\n"+
			"127.0.0.8        0x1         0x2         3c:22:fb:00:00:08     *        eth0\n",
		"0 aa:bb:cc:00:00:06 127.0.0.6 kiosk-6 *\n0 3c:22:fb:00:00:08 127.0.0.8 laptop-8 *\n",
		time.Hour) // only a query from an unknown address reads the tables again
	h := newHarness(t, devicePolicy, mutate)
	for _, tc := range []struct {
		ip   string
		want int
	}{
		{"127.0.0.5", dns.RcodeNameError}, // its MAC has the cameras' OUI
		{"127.0.0.6", dns.RcodeNameError}, // its lease names it kiosk-6
		{"127.0.0.8", dns.RcodeSuccess},   // another vendor, another name
		{"127.0.0.7", dns.RcodeSuccess},   // unknown
	} {
		if got := h.rcodeFrom(tc.ip, "acme.example"); got != tc.want {
			t.Errorf("acme.example from %s: %s, want %s", tc.ip, dns.RcodeToString[got], dns.RcodeToString[tc.want])
		}
	}
	if got := h.rcodeFrom("127.0.0.5", "plain.example"); got != dns.RcodeSuccess {
		t.Errorf("plain.example from a camera: %s", dns.RcodeToString[got])
	}
	es := h.logged(5)
	if es[0].Group != "cameras" || es[1].Group != "kiosks" || es[2].Group != "" {
		t.Errorf("logged groups %q, %q, %q", es[0].Group, es[1].Group, es[2].Group)
	}
	// A camera appears in the neighbour table: its next queries find it,
	// the table being read again because a query came from an address it
	// lacked.
	writeFile(t, arp, arpHeader+"127.0.0.7        0x1         0x2         a4:c1:38:00:00:07     *        eth0\n")
	h.eventually("127.0.0.7", "acme.example", dns.RcodeNameError)
}

func TestClientTableRefresh(t *testing.T) {
	_, leases, mutate := clientFiles(t, "", "0 aa:bb:cc:00:00:06 127.0.0.6 kiosk-6 *\n", 50*time.Millisecond)
	h := newHarness(t, devicePolicy, mutate)
	if got := h.rcodeFrom("127.0.0.6", "acme.example"); got != dns.RcodeNameError {
		t.Fatalf("kiosk: %s", dns.RcodeToString[got])
	}
	// The lease is renewed under another name: the periodic read sees it.
	writeFile(t, leases, "0 aa:bb:cc:00:00:06 127.0.0.6 printer-6 *\n")
	h.eventually("127.0.0.6", "acme.example", dns.RcodeSuccess)
	// A reload that drops the hostnames groups the client by what is
	// already known, at once.
	writeFile(t, h.policyPath, `
groups:
  - name: printers
    hostnames: [printer-6]
rules:
  - {id: printers-acme, action: block, names: [acme.example], groups: [printers]}
`)
	if err := h.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := h.rcodeFrom("127.0.0.6", "acme.example"); got != dns.RcodeNameError {
		t.Errorf("after the reload: %s, want NXDOMAIN", dns.RcodeToString[got])
	}
}

// TestDeviceGroupsDoNotAllocate: a client known by its MAC, and one the
// tables lack (which asks for a read), cost the fast path no allocation.
func TestDeviceGroupsDoNotAllocate(t *testing.T) {
	_, _, mutate := clientFiles(t, "127.0.0.1        0x1         0x2         a4:c1:38:00:00:01     *        lo\n", "", time.Hour)
	h := newHarness(t, devicePolicy, func(c *Config) { mutate(c); c.RateLimit.Rate = 0 })
	warm(t, h, "plain.example")
	for _, tc := range []struct {
		name  string
		rcode int
	}{{"plain.example", wire.RcodeSuccess}, {"acme.example", wire.RcodeNXDomain}} {
		q := pathQuery(t, h, tc.name, dns.TypeA)
		if got := rcodeOf(q()); got != tc.rcode {
			t.Fatalf("%s: rcode %d", tc.name, got)
		}
		if n := testing.AllocsPerRun(200, func() { q() }); n != 0 {
			t.Errorf("%s: %v allocations per query", tc.name, n)
		}
	}
	unknown := pathQueryFrom(t, h, "plain.example", dns.TypeA, "127.0.0.9")
	if n := testing.AllocsPerRun(200, func() { unknown() }); n != 0 {
		t.Errorf("unknown client: %v allocations per query", n)
	}
}

// TestUnknownClientAsksOnce: a client the tables never list (a forwarder
// on the same host, clients beyond a router) asks for one read, not one
// a second for as long as it sends queries; the periodic read still
// comes.
func TestUnknownClientAsksOnce(t *testing.T) {
	_, _, mutate := clientFiles(t, "127.0.0.1        0x1         0x2         a4:c1:38:00:00:01     *        lo\n", "", time.Hour)
	h := newHarness(t, devicePolicy, mutate)
	reads := func() float64 {
		var m dto.Metric
		if err := h.srv.clients.reads.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := reads()
	for end := time.Now().Add(3500 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got := h.rcodeFrom("127.0.0.9", "acme.example"); got != dns.RcodeSuccess {
			t.Fatalf("unknown client: %s, want an answer", dns.RcodeToString[got])
		}
	}
	if n := reads() - before; n != 1 {
		t.Errorf("%v reads of the tables for 3.5 s of queries from an unknown client, want 1", n)
	}
	if got := h.rcodeFrom("127.0.0.1", "acme.example"); got != dns.RcodeNameError {
		t.Errorf("known camera: %s, want NXDOMAIN", dns.RcodeToString[got])
	}
}
