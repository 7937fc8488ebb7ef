package neigh

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var addrs = cmpopts.EquateComparable(netip.Addr{})

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func mac(s string) MAC {
	m, ok := parseMAC([]byte(s))
	if !ok {
		panic(s)
	}
	return m
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseARP(t *testing.T) {
	got := map[netip.Addr]MAC{}
	ParseARP(read(t, "arp"), func(ip netip.Addr, m MAC) { got[ip] = m })
	want := map[netip.Addr]MAC{
		addr("192.168.1.20"): mac("a4:c1:38:12:34:56"),
		addr("192.168.1.22"): mac("02:00:5e:10:00:01"),
	}
	if diff := cmp.Diff(want, got, addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func leases(t *testing.T, name string) map[netip.Addr]Lease {
	got := map[netip.Addr]Lease{}
	ParseLeases(read(t, name), now, func(l Lease) {
		if _, dup := got[l.Addr]; dup {
			t.Errorf("%s visited twice", l.Addr)
		}
		got[l.Addr] = l
	})
	return got
}

func TestParseDnsmasq(t *testing.T) {
	want := map[netip.Addr]Lease{
		addr("192.168.1.20"): {Addr: addr("192.168.1.20"), MAC: mac("a4:c1:38:12:34:56"), Hostname: "kiosk-12"}, // infinite
		addr("192.168.1.31"): {Addr: addr("192.168.1.31"), MAC: mac("aa:bb:cc:00:00:02")},                       // no name
		addr("192.168.1.32"): {Addr: addr("192.168.1.32"), Hostname: "tokenring"},                               // not Ethernet
		addr("192.168.1.33"): {Addr: addr("192.168.1.33"), MAC: mac("aa:bb:cc:00:00:04")},                       // name refused
		addr("2001:db8::20"): {Addr: addr("2001:db8::20"), Hostname: "kiosk-12"},                                // DHCPv6: no MAC
	}
	if diff := cmp.Diff(want, leases(t, "dnsmasq.leases"), addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseDhcpd(t *testing.T) {
	want := map[netip.Addr]Lease{
		addr("192.168.1.40"): {Addr: addr("192.168.1.40"), MAC: mac("3c:22:fb:00:00:40"), Hostname: "printer-1"}, // the last lease counts
		addr("192.168.1.41"): {Addr: addr("192.168.1.41"), MAC: mac("3c:22:fb:00:00:41")},
	}
	if diff := cmp.Diff(want, leases(t, "dhcpd.leases"), addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTableRead(t *testing.T) {
	dir := t.TempDir()
	arp := filepath.Join(dir, "arp")
	dnsmasq := filepath.Join(dir, "dnsmasq.leases")
	dhcpd := filepath.Join(dir, "dhcpd.leases")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(arp, "IP address HW type Flags HW address Mask Device\n10.0.0.5 0x1 0x2 a4:c1:38:00:00:05 * eth0\n")
	write(dnsmasq, "0 a4:c1:38:99:99:99 10.0.0.5 cam-5 *\n0 aa:bb:cc:00:00:06 10.0.0.6 kiosk-6 *\n")
	write(dhcpd, "lease 10.0.0.6 { binding state active; hardware ethernet 3c:00:00:00:00:06; client-hostname \"other\"; }\n"+
		"lease 10.0.0.7 { binding state active; client-hostname \"seven\"; }\n")
	tab := New(Config{ARP: arp, Leases: []string{dnsmasq, dhcpd, filepath.Join(dir, "missing")}})
	got, err := tab.Read(now)
	if err == nil {
		t.Error("a missing lease file is not reported")
	}
	want := map[netip.Addr]Client{
		addr("10.0.0.5"): {MAC: mac("a4:c1:38:00:00:05"), Hostname: "cam-5"}, // the neighbour table's MAC first
		addr("10.0.0.6"): {MAC: mac("aa:bb:cc:00:00:06"), Hostname: "kiosk-6"},
		addr("10.0.0.7"): {Hostname: "seven"},
	}
	if diff := cmp.Diff(want, got, addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A changed lease file is read again; a vanished one keeps its leases.
	write(dnsmasq, "0 aa:bb:cc:00:00:06 10.0.0.6 kiosk-6-renamed *\n")
	os.Remove(dhcpd)
	got, _ = tab.Read(now.Add(time.Second))
	want[addr("10.0.0.5")] = Client{MAC: mac("a4:c1:38:00:00:05")}
	want[addr("10.0.0.6")] = Client{MAC: mac("aa:bb:cc:00:00:06"), Hostname: "kiosk-6-renamed"}
	if diff := cmp.Diff(want, got, addrs); diff != "" {
		t.Errorf("after the change (-want +got):\n%s", diff)
	}
}

// nlmsg builds one netlink message of an RTM_GETNEIGH dump.
func nlmsg(typ uint16, state uint16, attrs ...[]byte) []byte {
	be := binary.NativeEndian
	body := make([]byte, ndMsgLen)
	body[0] = 10 // AF_INET6
	be.PutUint16(body[8:10], state)
	for _, a := range attrs {
		body = append(body, a...)
	}
	h := make([]byte, nlmsgHdrLen)
	be.PutUint32(h[0:4], uint32(nlmsgHdrLen+len(body)))
	be.PutUint16(h[4:6], typ)
	return append(h, body...)
}

func rtattr(typ uint16, data []byte) []byte {
	be := binary.NativeEndian
	a := make([]byte, 4, align4(4+len(data)))
	be.PutUint16(a[0:2], uint16(4+len(data)))
	be.PutUint16(a[2:4], typ)
	a = append(a, data...)
	return a[:cap(a)]
}

func neighDump() []byte {
	ip := addr("2001:db8::20").As16()
	ip2 := addr("fe80::1").As16()
	var b []byte
	b = append(b, nlmsg(rtmNewNeigh, 0x02, rtattr(ndaDst, ip[:]), rtattr(ndaLLAddr, []byte{0xa4, 0xc1, 0x38, 0, 0, 0x20}))...)
	b = append(b, nlmsg(rtmNewNeigh, nudIncomplete, rtattr(ndaDst, ip2[:]))...)
	b = append(b, nlmsg(rtmNewNeigh, 0x04, rtattr(ndaDst, ip2[:]), rtattr(ndaLLAddr, []byte{0x3c, 0, 0, 0, 0, 1}))...)
	b = append(b, nlmsg(nlmsgDone, 0)...)
	return b
}

func TestParseNeighDump(t *testing.T) {
	got := map[netip.Addr]MAC{}
	if err := parseNeighDump(neighDump(), func(ip netip.Addr, m MAC) { got[ip] = m }); err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]MAC{addr("2001:db8::20"): mac("a4:c1:38:00:00:20"), addr("fe80::1"): mac("3c:00:00:00:00:01")}
	if diff := cmp.Diff(want, got, addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestIPv6Neighbours asks the kernel: the dump must parse, whatever the
// machine's neighbours are.
func TestIPv6Neighbours(t *testing.T) {
	if runtime.GOOS != "linux" {
		return
	}
	n := 0
	if err := ipv6Neighbours(func(netip.Addr, MAC) { n++ }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d IPv6 neighbours", n)
}

func FuzzParseARP(f *testing.F) {
	if b, err := os.ReadFile("testdata/arp"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("1.2.3.4 0x1 0x2 aa:bb:cc:dd:ee:ff * eth0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseARP(b, func(ip netip.Addr, m MAC) {
			if !ip.Is4() || m == (MAC{}) {
				t.Fatalf("visited %v %v", ip, m)
			}
		})
	})
}

func FuzzParseLeases(f *testing.F) {
	for _, name := range []string{"dnsmasq.leases", "dhcpd.leases"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("lease 1.2.3.4 { on x { { } ; client-hostname \"a\\\"b\"; }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(l Lease) {
			if !l.Addr.IsValid() || (l.MAC == MAC{} && l.Hostname == "") {
				t.Fatalf("visited %+v", l)
			}
			if l.Hostname != "" && cleanHost([]byte(l.Hostname)) != l.Hostname {
				t.Fatalf("hostname %q not clean", l.Hostname)
			}
		}
		ParseDnsmasq(b, now, check)
		ParseDhcpd(b, now, check)
	})
}

func FuzzParseNeighDump(f *testing.F) {
	f.Add(neighDump())
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseNeighDump(b, func(ip netip.Addr, m MAC) {
			if !ip.IsValid() || m == (MAC{}) {
				t.Fatalf("visited %v %v", ip, m)
			}
		})
	})
}
