package scan

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/scan/bypass"
	"github.com/outflow-dev/outflow/internal/sniff/quic"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// capWriter writes a small Ethernet capture packet by packet.
type capWriter struct {
	t   *testing.T
	w   *pcapgo.Writer
	now time.Time
}

var (
	gwMAC  = net.HardwareAddr{0x00, 0x09, 0x5b, 0, 0, 1}
	devMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x10}
	gwIP   = netip.MustParseAddr("192.168.7.1")
)

func (c *capWriter) packet(src, dst netip.Addr, l4 gopacket.SerializableLayer, nl *layers.IPv4, payload []byte) {
	c.t.Helper()
	c.now = c.now.Add(10 * time.Millisecond)
	smac, dmac := devMAC, gwMAC
	if !src.IsPrivate() || src == gwIP {
		smac, dmac = gwMAC, devMAC
	}
	eth := &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, nl, l4, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	b := buf.Bytes()
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		c.t.Fatal(err)
	}
}

func ipv4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func (c *capWriter) udp(src, dst netip.Addr, sport, dport uint16, payload []byte) {
	ip := ipv4(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		c.t.Fatal(err)
	}
	c.packet(src, dst, u, ip, payload)
}

// tcp opens a connection, sends req, gets resp back, and leaves it idle.
func (c *capWriter) tcp(dev, peer netip.Addr, sport, dport uint16, req, resp []byte) {
	seg := func(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, syn, isAck bool, payload []byte) {
		ip := ipv4(src, dst, layers.IPProtocolTCP)
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, SYN: syn, ACK: isAck, PSH: len(payload) > 0, Window: 64240}
		if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
			c.t.Fatal(err)
		}
		c.packet(src, dst, tc, ip, payload)
	}
	const cs, ss = 1000, 5000
	seg(dev, peer, sport, dport, cs, 0, true, false, nil)
	seg(peer, dev, dport, sport, ss, cs+1, true, true, nil)
	seg(dev, peer, sport, dport, cs+1, ss+1, false, true, req)
	seg(peer, dev, dport, sport, ss+1, cs+1+uint32(len(req)), false, true, resp)
}

// lookup is the device asking the network's resolver for name and getting addr.
func (c *capWriter) lookup(dev netip.Addr, sport uint16, name string, addr netip.Addr) {
	c.lookupAt(dev, gwIP, sport, name, addr)
}

// lookupAt is the device asking resolver for name and getting addr.
func (c *capWriter) lookupAt(dev, resolver netip.Addr, sport uint16, name string, addr netip.Addr) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	qb, err := q.Pack()
	if err != nil {
		c.t.Fatal(err)
	}
	c.udp(dev, resolver, sport, 53, qb)
	r := new(dns.Msg)
	r.SetReply(q)
	r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: addr.AsSlice()})
	rb, err := r.Pack()
	if err != nil {
		c.t.Fatal(err)
	}
	c.udp(resolver, dev, 53, sport, rb)
}

// bypassCapture writes a capture with one device per way around the
// resolver, and one that only looks names up.
func bypassCapture(t *testing.T) string {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	c := &capWriter{t: t, w: w, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a := netip.MustParseAddr
	resp := bytes.Repeat([]byte{0x17}, 300)
	hello := func(sni string) []byte { return tlshello.BuildClientHello(sni, []string{"h2"}) }

	// .10: the browser's DNS over HTTPS
	c.tcp(a("192.168.7.10"), a("1.1.1.1"), 40001, 443, hello("cloudflare-dns.com"), resp)
	// .11: DNS over TLS to Quad9
	c.tcp(a("192.168.7.11"), a("9.9.9.9"), 40002, 853, hello("dns.quad9.net"), resp)
	// .12: DNS over QUIC to a resolver nobody catalogued
	ini, err := quic.BuildClientInitial(1, []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{9, 9, 9, 9}, tlshello.BuildQUICClientHello("doq.example.net", []string{"doq"}, []byte{9, 9, 9, 9}))
	if err != nil {
		t.Fatal(err)
	}
	c.udp(a("192.168.7.12"), a("203.0.113.53"), 40003, 853, ini)
	// .13: an app asks Alibaba Cloud's HTTP-DNS, after an ordinary lookup
	c.lookup(a("192.168.7.13"), 50013, "www.example.com", a("93.184.215.14"))
	c.tcp(a("192.168.7.13"), a("93.184.215.14"), 40013, 443, hello("www.example.com"), resp)
	c.tcp(a("192.168.7.13"), a("203.107.1.65"), 40014, 80,
		[]byte("GET /100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1700000000&s=0123 HTTP/1.1\r\nHost: 203.107.1.65\r\nUser-Agent: okhttp\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	// .14: looks names up, then connects to a TikTok address it never resolved
	c.lookup(a("192.168.7.14"), 50014, "www.wikipedia.org", a("185.15.59.224"))
	c.tcp(a("192.168.7.14"), a("185.15.59.224"), 40015, 443, hello("www.wikipedia.org"), resp)
	c.tcp(a("192.168.7.14"), a("71.18.247.10"), 40016, 443, hello("api16-normal-c-useast1a.tiktokv.com"), resp)
	// .15: a TikTok address of the same prefix, looked up first: no
	// bypass. (Not the same address: an answer to any device names an
	// address for all, as a forwarder's answers must.)
	c.lookup(a("192.168.7.15"), 50015, "www.tiktok.com", a("71.18.247.20"))
	c.tcp(a("192.168.7.15"), a("71.18.247.20"), 40017, 443, hello("www.tiktok.com"), resp)
	c.lookup(a("192.168.7.15"), 50016, "www.google.com", a("142.250.185.68"))
	c.tcp(a("192.168.7.15"), a("142.250.185.68"), 40018, 443, hello("www.google.com"), resp)

	path := filepath.Join(t.TempDir(), "bypass.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func bypassLine(d Device) string {
	var out []string
	for _, b := range d.Bypass {
		owner := b.Owner
		if owner == "" {
			owner = "-"
		}
		out = append(out, string(b.Kind)+" "+b.Peer+" "+owner)
	}
	return strings.Join(out, "; ")
}

// Each device of a generated capture gets its way around the resolver, with
// the owner the catalog names or none, and the device that looked its
// names up gets no bypass (issue 14).
func TestBypassPerDevice(t *testing.T) {
	ix := openCatalog(t)
	rep := scanFiles(t, ix, bypassCapture(t))
	want := map[string]string{
		"192.168.7.1":  "",
		"192.168.7.10": "doh 1.1.1.1 cloudflare",
		"192.168.7.11": "dot 9.9.9.9 quad9",
		"192.168.7.12": "doq 203.0.113.53 -",
		"192.168.7.13": "httpdns 203.107.1.65 alibaba-cloud",
		"192.168.7.14": "hardcoded-address 71.18.247.10 tiktok",
		"192.168.7.15": "",
	}
	seen := map[string]bool{}
	for _, d := range rep.Devices {
		w, ok := want[d.Address]
		if !ok {
			t.Errorf("unexpected device %s", d.Address)
			continue
		}
		seen[d.Address] = true
		if got := bypassLine(d); got != w {
			t.Errorf("%s: bypass %q, want %q", d.Address, got, w)
		}
		for _, b := range d.Bypass {
			if b.Kind == "httpdns" && !hasEvidence(b.Evidence, "GET /sign_d?host=appmarket.micloud.xiaomi.net") {
				t.Errorf("%s: httpdns evidence %+v lacks the request", d.Address, b.Evidence)
			}
		}
	}
	for a := range want {
		if !seen[a] && a != "192.168.7.1" {
			t.Errorf("device %s missing", a)
		}
	}
}

// The shared real captures that hold no way around the resolver (the
// NEGATIVE controls of their README, and the other apps) report none; the
// DoH capture reports only DoH, and ECH stays a hidden name.
func TestBypassSharedCaptures(t *testing.T) {
	dir := sharedPcaps(t)
	ix := openCatalog(t)
	for _, tc := range []struct {
		file string
		want string // the kinds allowed, "" for none
	}{
		{"android.pcap", ""}, {"chrome.pcap", ""}, {"dns.pcap", ""}, {"google_ssl.pcap", ""},
		{"http.pcapng", ""}, {"iphone.pcap", ""}, {"quic.pcap", ""}, {"quic-v2.pcapng", ""},
		{"youtube_quic.pcap", ""}, {"tls_ech.pcapng", ""}, {"encrypted_sni.pcap", ""},
		{"wechat.pcap", ""}, {"doh.pcapng", "doh"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rep := scanFiles(t, ix, filepath.Join(dir, tc.file))
			n := 0
			for _, d := range rep.Devices {
				for _, b := range d.Bypass {
					n++
					if string(b.Kind) != tc.want {
						t.Errorf("%s: false bypass %+v", d.Address, b)
					}
				}
			}
			if tc.want != "" && n == 0 {
				t.Errorf("no %s found", tc.want)
			}
		})
	}
}

func hasEvidence(evs []bypass.Evidence, v string) bool {
	for _, e := range evs {
		if e.Value == v {
			return true
		}
	}
	return false
}

// Zeek logs: an http.log request to an HTTP-DNS API is an httpdns bypass;
// a conn to a TikTok address in logs with no DNS answers at all (a
// conn.log without its dns.log) is no hard-coded address, and with the
// dns.log read first it is (issue 14).
func TestBypassFromZeekLogs(t *testing.T) {
	ix := openCatalog(t)
	dir := t.TempDir()
	conn := `{"_path":"http","ts":1772442017.1,"uid":"H1","id.orig_h":"192.168.1.5","id.orig_p":5,"id.resp_h":"203.107.1.65","id.resp_p":80,"method":"GET","host":"203.107.1.65","uri":"/100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1"}
{"_path":"conn","ts":1772442017.0,"uid":"H1","id.orig_h":"192.168.1.5","id.orig_p":5,"id.resp_h":"203.107.1.65","id.resp_p":80,"proto":"tcp","duration":0.5,"conn_state":"SF","orig_ip_bytes":300,"resp_ip_bytes":400}
{"_path":"conn","ts":1772442016.0,"uid":"D1","id.orig_h":"192.168.1.6","id.orig_p":6,"id.resp_h":"192.168.1.1","id.resp_p":53,"proto":"udp","duration":0.1,"conn_state":"SF","orig_ip_bytes":60,"resp_ip_bytes":90}
{"_path":"conn","ts":1772442019.0,"uid":"T1","id.orig_h":"192.168.1.6","id.orig_p":7,"id.resp_h":"71.18.247.10","id.resp_p":443,"proto":"tcp","duration":2,"conn_state":"SF","orig_ip_bytes":3000,"resp_ip_bytes":9000}
`
	dns := `{"_path":"dns","ts":1772442016.1,"uid":"D1","id.orig_h":"192.168.1.6","query":"www.google.com","answers":["142.250.185.68"],"TTLs":[60.0]}
`
	connLog, dnsLog := filepath.Join(dir, "conn.log"), filepath.Join(dir, "dns.log")
	if err := os.WriteFile(connLog, []byte(conn), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dnsLog, []byte(dns), 0o644); err != nil {
		t.Fatal(err)
	}
	kinds := func(files ...string) map[string]string {
		s := New(DefaultConfig(), attribute.New(ix))
		for _, f := range files {
			if err := s.ReadAny(context.Background(), f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		m := map[string]string{}
		for _, d := range s.Finish(testAt).Devices {
			m[d.Address] = bypassLine(d)
		}
		return m
	}
	got := kinds(connLog)
	if got["192.168.1.5"] != "httpdns 203.107.1.65 alibaba-cloud" || got["192.168.1.6"] != "" {
		t.Errorf("conn.log alone: %q", got)
	}
	got = kinds(dnsLog, connLog)
	if got["192.168.1.6"] != "hardcoded-address 71.18.247.10 tiktok" {
		t.Errorf("dns.log then conn.log: %q", got)
	}
}
