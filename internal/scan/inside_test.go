package scan

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// segment writes one TCP segment.
func (c *capWriter) segment(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, syn bool, payload []byte) {
	ip := ipv4(src, dst, layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, SYN: syn, ACK: true, PSH: len(payload) > 0, Window: 64240}
	if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
		c.t.Fatal(err)
	}
	c.packet(src, dst, tc, ip, payload)
}

// midStream is a TCP connection the capture caught after its handshake:
// the server's bytes first, then the client's.
func (c *capWriter) midStream(client, server netip.Addr, cport, sport uint16) {
	c.segment(server, client, sport, cport, 7000, 3000, false, bytes.Repeat([]byte{0x17}, 200))
	c.segment(client, server, cport, sport, 3000, 7200, false, bytes.Repeat([]byte{0x17}, 80))
}

func writeCapture(t *testing.T, name string, fill func(c *capWriter)) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	fill(&capWriter{t: t, w: w, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func entities(d Device) []string {
	var out []string
	for _, e := range d.Exposures {
		out = append(out, e.Entity)
	}
	slices.Sort(out)
	return out
}

// A capture at a phone with a carrier's public address, begun while its
// connections were open: each one's first packet is the server's. The
// server's port says who the client is, then the phone (the end of every
// flow, with many counterparts) is the device even of a connection a
// server opens to it; the names it resolved attribute the flows. Before,
// each server was a "device" and the phone its peer, and nothing was
// attributed.
func TestPhoneWithPublicAddress(t *testing.T) {
	a := netip.MustParseAddr
	phone, resolver := a("198.51.100.7"), a("203.0.113.53")
	tiktok, qq, push := a("71.18.247.20"), a("203.0.113.20"), a("203.0.113.40")
	path := writeCapture(t, "phone.pcap", func(c *capWriter) {
		c.lookupAt(phone, resolver, 50001, "www.tiktok.com", tiktok)
		c.lookupAt(phone, resolver, 50002, "weixin.qq.com", qq)
		c.lookupAt(phone, resolver, 50003, "push.qq.com", push)
		c.midStream(phone, tiktok, 40100, 443)
		c.midStream(phone, qq, 40101, 443)
		c.midStream(phone, a("203.0.113.30"), 40102, 8443)
		c.midStream(phone, a("203.0.113.31"), 40103, 5228)
		// the push server opens a connection to the phone
		c.tcp(push, phone, 41000, 7000, []byte("wake"), []byte("ok"))
	})
	got := scanDevices(t, path)
	d, ok := got[phone.String()]
	if !ok || len(got) != 1 {
		t.Fatalf("devices %v, want only the phone %s", slices.Collect(mapKeys(got)), phone)
	}
	if e := entities(d); !slices.Equal(e, []string{"tencent", "tiktok"}) {
		t.Errorf("phone's exposures %v, want tencent and tiktok", e)
	}
	names := map[string]string{}
	for _, f := range d.Flows {
		names[f.Peer] = f.Name
	}
	for peer, want := range map[string]string{"71.18.247.20:443": "www.tiktok.com", "203.0.113.20:443": "weixin.qq.com", "203.0.113.40:41000": "push.qq.com"} {
		if names[peer] != want {
			t.Errorf("flow to %s named %q, want %q (all: %v)", peer, names[peer], want, names)
		}
	}
	if d.LooksLikeServer != nil {
		t.Errorf("the phone looks like a server: %+v", d.LooksLikeServer)
	}
}

// A capture at a public server answering many clients: from its 4th
// client on, the server is the device (the first 3 flows were decided
// before it had 4 counterparts, by their handshakes), and the report says
// it looks like a server.
func TestPublicServerLooksLikeServer(t *testing.T) {
	server := netip.MustParseAddr("203.0.113.80")
	hello := tlshello.BuildClientHello("www.example.org", []string{"h2"})
	path := writeCapture(t, "server.pcap", func(c *capWriter) {
		for i := range 12 {
			c.tcp(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), server, uint16(50000+i), 443, hello, bytes.Repeat([]byte{0x16}, 300))
		}
	})
	got := scanDevices(t, path)
	d, ok := got[server.String()]
	if !ok {
		t.Fatalf("devices %v, want the server among them", slices.Collect(mapKeys(got)))
	}
	want := Server{Port: 443, Proto: "tcp", Peers: 9, Served: 9, Flows: 9}
	if d.LooksLikeServer == nil || *d.LooksLikeServer != want {
		t.Errorf("server's mark %+v, want %+v", d.LooksLikeServer, want)
	}
	for _, c := range []string{"198.51.100.10", "198.51.100.11", "198.51.100.12"} {
		if cd, ok := got[c]; !ok || len(cd.Flows) != 1 || cd.LooksLikeServer != nil {
			t.Errorf("first client %s: %+v, want a device of its one flow, unmarked", c, cd)
		}
	}
	if len(got) != 4 {
		t.Errorf("devices %v, want the server and the first 3 clients", slices.Collect(mapKeys(got)))
	}
}

// A LAN capture in the private ranges is oriented as before: the inside
// end is the device even of a flow caught mid-stream, and of flows
// between two inside addresses the one that opened it; the LAN's file
// server, with many counterparts, is no device and no server is reported.
func TestLANUnchanged(t *testing.T) {
	a := netip.MustParseAddr
	phone, nas, tiktok := a("192.168.7.10"), a("192.168.7.20"), a("71.18.247.20")
	path := writeCapture(t, "lan.pcap", func(c *capWriter) {
		c.lookup(phone, 50001, "www.tiktok.com", tiktok)
		c.midStream(phone, tiktok, 40100, 443)
		c.tcp(phone, tiktok, 40101, 443, tlshello.BuildClientHello("www.tiktok.com", nil), []byte{0x16})
		for i := range 6 {
			c.tcp(netip.AddrFrom4([4]byte{192, 168, 7, byte(30 + i)}), nas, uint16(45000+i), 445, []byte("smb"), []byte("ok"))
		}
	})
	got := scanDevices(t, path)
	want := []string{"192.168.7.10", "192.168.7.30", "192.168.7.31", "192.168.7.32", "192.168.7.33", "192.168.7.34", "192.168.7.35"}
	keys := slices.Sorted(mapKeys(got))
	if !slices.Equal(keys, want) {
		t.Errorf("devices %v, want %v", keys, want)
	}
	if e := entities(got[phone.String()]); !slices.Equal(e, []string{"tiktok"}) {
		t.Errorf("phone's exposures %v, want tiktok", e)
	}
	for a, d := range got {
		if d.LooksLikeServer != nil {
			t.Errorf("%s looks like a server: %+v", a, d.LooksLikeServer)
		}
	}
}

func mapKeys(m map[string]Device) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The hub counts are read in capture order by the one goroutine that runs
// the tracker: the pipelined scan orients these captures as one goroutine
// does, byte for byte.
func TestInsideSameWithWorkers(t *testing.T) {
	a := netip.MustParseAddr
	phone, server := a("198.51.100.7"), a("203.0.113.80")
	path := writeCapture(t, "mixed.pcap", func(c *capWriter) {
		for i := range 8 {
			c.midStream(phone, netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i)}), uint16(40100+i), 443)
		}
		for i := range 8 {
			c.tcp(netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + i)}), server, uint16(50000+i), 8883, []byte("mqtt"), []byte("ok"))
		}
	})
	sameWithWorkers(t, openCatalog(t), nil, path)
}
