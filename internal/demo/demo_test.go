package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/sniff/quic"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// pkt is one frame read back from a capture.
type pkt struct {
	n    int // 1-based frame number
	ts   time.Time
	data []byte
}

func writeCapture(t testing.TB, opt Options) ([]byte, Truth) {
	t.Helper()
	var b bytes.Buffer
	truth, err := Write(&b, opt)
	if err != nil {
		t.Fatalf("Write(%+v): %v", opt, err)
	}
	return b.Bytes(), truth
}

var (
	defaultOnce  sync.Once
	defaultBytes []byte
	defaultTruth Truth
	defaultPkts  []pkt
)

// demoCapture is the Seed 1, Scale 1 capture, written once per test run.
func demoCapture(t *testing.T) ([]byte, Truth, []pkt) {
	t.Helper()
	defaultOnce.Do(func() {
		defaultBytes, defaultTruth = writeCapture(t, Options{Seed: 1})
		defaultPkts = readCapture(t, defaultBytes)
	})
	if defaultPkts == nil {
		t.Fatal("the demo capture could not be written")
	}
	return defaultBytes, defaultTruth, defaultPkts
}

// readCapture reads a capture back with pcapgo and checks its header.
func readCapture(t testing.TB, b []byte) []pkt {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("pcapgo.NewReader: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != Snaplen {
		t.Fatalf("link type %v, snaplen %d", r.LinkType(), r.Snaplen())
	}
	var out []pkt
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d: %v", len(out)+1, err)
		}
		if ci.CaptureLength != len(data) || ci.Length != len(data) {
			t.Fatalf("packet %d: capture length %d, length %d, data %d", len(out)+1, ci.CaptureLength, ci.Length, len(data))
		}
		out = append(out, pkt{n: len(out) + 1, ts: ci.Timestamp, data: data})
	}
}

func TestWriteDeterministic(t *testing.T) {
	base := Options{Seed: 7, Start: time.Date(2025, 11, 3, 14, 30, 0, 0, time.UTC)}
	ref, _ := writeCapture(t, base)
	tests := []struct {
		name string
		opt  Options
		same bool
	}{
		{"same options", base, true},
		{"other seed", Options{Seed: 8, Start: base.Start}, false},
		{"other start", Options{Seed: 7, Start: base.Start.Add(time.Hour)}, false},
		{"zero start is DefaultStart", Options{Seed: 7}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := writeCapture(t, tc.opt)
			if same := bytes.Equal(got, ref); same != tc.same {
				t.Errorf("identical output: %v, want %v", same, tc.same)
			}
		})
	}
	t.Run("scale 1 and 0 agree", func(t *testing.T) {
		a, _ := writeCapture(t, Options{Seed: 3, Scale: 0})
		b, _ := writeCapture(t, Options{Seed: 3, Scale: 1})
		if !bytes.Equal(a, b) {
			t.Error("Scale 0 differs from Scale 1")
		}
	})
}

// TestGolden pins the Seed 1 capture: its hash and its Truth. A change to
// the scene or to the tlshello/quic builders shows up here; rerun with
// -update after checking the new summary is what was meant.
func TestGolden(t *testing.T) {
	b, truth, _ := demoCapture(t)
	got := summary(b, truth)
	path := filepath.Join("testdata", "seed1.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func summary(capture []byte, truth Truth) string {
	var sb strings.Builder
	sum := sha256.Sum256(capture)
	fmt.Fprintf(&sb, "sha256 %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&sb, "packets %d bytes %d first %s last %s\n", truth.Packets, truth.Bytes,
		truth.First.Format(time.RFC3339Nano), truth.Last.Format(time.RFC3339Nano))
	line := func(name string, c Counts, extra string) {
		fmt.Fprintf(&sb, "  %-12s out %7d B %4d pkts  in %7d B %4d pkts  flows %d%s\n",
			name, c.BytesOut, c.PacketsOut, c.BytesIn, c.PacketsIn, c.Flows, extra)
	}
	for _, d := range truth.Devices {
		ent := d.MACEntity
		if ent == "" {
			ent = "-"
		}
		fmt.Fprintf(&sb, "device %s %s %s mac-entity %s\n", d.Addr, d.MAC, d.Hostname, ent)
		for _, k := range sortedKeys(d.Exposures) {
			line(k, d.Exposures[k], "  names "+strings.Join(d.Evidence[k], ","))
		}
		line("hidden", d.Hidden, "")
		line("other", d.Other, "")
		line("local", d.Local, "")
		line("total", d.Total, "")
	}
	return sb.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestScene checks the scene the brief describes: who the devices are and
// which entity each one reaches through which names.
func TestScene(t *testing.T) {
	_, truth, _ := demoCapture(t)
	tests := []struct {
		host, addr, mac, macEntity string
		evidence                   map[string][]string
		hidden                     int
	}{
		{"ana-laptop", "192.168.50.10", "00:14:22:a1:b2:c3", "", map[string][]string{
			"tiktok": {"www.tiktok.com", "p16-sign-va.tiktokcdn.com", "api16-normal-useast5.us.tiktokv.com"},
		}, 2},
		{"ben-phone", "192.168.50.11", "00:03:93:4e:27:9d", "", map[string][]string{
			"dji":     {"mydjiflight.dji.com"},
			"tencent": {"hkminorshort.weixin.qq.com"},
		}, 0},
		{"dji-rc", "192.168.50.12", "60:60:1f:3a:7c:21", "dji", map[string][]string{
			"dji": {"flysafe-api.dji.com"},
		}, 0},
		{"finance-pc", "192.168.50.20", "00:1b:21:5d:0e:48", "", map[string][]string{
			"pdd": {"www.temu.com", "kuajing.pinduoduo.com"},
		}, 0},
		{"cam-lobby", "192.168.50.30", "44:47:cc:5e:90:12", "hikvision", map[string][]string{
			"hikvision": {"apiieu.hik-connect.com"},
		}, 0},
		{"printer-2f", "192.168.50.40", "08:00:37:6b:21:0f", "", map[string][]string{}, 0},
	}
	if len(truth.Devices) != len(tests) {
		t.Fatalf("%d devices, want %d", len(truth.Devices), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			d := truth.Device(tc.host)
			if d == nil {
				t.Fatal("missing")
			}
			if d != &truth.Devices[i] {
				t.Error("devices are not in address order")
			}
			if d.Addr.String() != tc.addr || d.MAC.String() != tc.mac || d.MACEntity != tc.macEntity {
				t.Errorf("got %s %s %q, want %s %s %q", d.Addr, d.MAC, d.MACEntity, tc.addr, tc.mac, tc.macEntity)
			}
			if diff := cmp.Diff(tc.evidence, d.Evidence); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
			if got := sortedKeys(d.Exposures); !slices.Equal(got, sortedKeys(tc.evidence)) {
				t.Errorf("exposure keys %v", got)
			}
			for k, c := range d.Exposures {
				if c.BytesOut == 0 || c.BytesIn == 0 || c.Flows != len(tc.evidence[k]) {
					t.Errorf("%s: %+v", k, c)
				}
			}
			if d.Hidden.Flows != tc.hidden {
				t.Errorf("hidden flows %d, want %d", d.Hidden.Flows, tc.hidden)
			}
		})
	}
	if truth.Bytes < 1<<20 || truth.Bytes > 2<<20 {
		t.Errorf("demo capture holds %d bytes of frames, want 1 to 2 MiB", truth.Bytes)
	}
}

// decoded is a frame decoded with gopacket.
type decoded struct {
	eth *layers.Ethernet
	ip  *layers.IPv4
	tcp *layers.TCP
	udp *layers.UDP
	arp *layers.ARP
	pkt gopacket.Packet
}

func decode(t testing.TB, p pkt) decoded {
	t.Helper()
	gp := gopacket.NewPacket(p.data, layers.LinkTypeEthernet, gopacket.Default)
	var d decoded
	d.pkt = gp
	d.eth, _ = gp.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	d.ip, _ = gp.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	d.tcp, _ = gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
	d.udp, _ = gp.Layer(layers.LayerTypeUDP).(*layers.UDP)
	d.arp, _ = gp.Layer(layers.LayerTypeARP).(*layers.ARP)
	return d
}

// TestFramesDecode reads the capture back and decodes every frame with
// gopacket, checking lengths, checksums and time order.
func TestFramesDecode(t *testing.T) {
	_, truth, pkts := demoCapture(t)
	var total uint64
	prev := time.Time{}
	for _, p := range pkts {
		total += uint64(len(p.data))
		if p.ts.Before(prev) {
			t.Fatalf("frame %d: time goes back from %s to %s", p.n, prev, p.ts)
		}
		prev = p.ts
		if len(p.data) < 60 {
			t.Fatalf("frame %d: %d bytes, below the Ethernet minimum", p.n, len(p.data))
		}
		d := decode(t, p)
		if d.eth == nil {
			t.Fatalf("frame %d: no Ethernet layer", p.n)
		}
		if el := d.pkt.ErrorLayer(); el != nil {
			// gopacket decodes TCP 443 payloads as TLS records one segment
			// at a time; a record spanning segments fails there, which is
			// the stream's business, not the frame's.
			if d.tcp == nil || (d.tcp.SrcPort != 443 && d.tcp.DstPort != 443) {
				t.Fatalf("frame %d: %v", p.n, el.Error())
			}
		}
		switch {
		case d.arp != nil:
		case d.ip != nil:
			if err, res := d.ip.VerifyChecksum(); err != nil || !res.Valid {
				t.Fatalf("frame %d: IPv4 checksum: %v %+v", p.n, err, res)
			}
			if int(d.ip.Length) > len(p.data)-14 {
				t.Fatalf("frame %d: IP length %d beyond the frame", p.n, d.ip.Length)
			}
			switch {
			case d.tcp != nil:
				_ = d.tcp.SetNetworkLayerForChecksum(d.ip)
				if err, res := d.tcp.VerifyChecksum(); err != nil || !res.Valid {
					t.Fatalf("frame %d: TCP checksum: %v %+v", p.n, err, res)
				}
			case d.udp != nil:
				_ = d.udp.SetNetworkLayerForChecksum(d.ip)
				if err, res := d.udp.VerifyChecksum(); err != nil || !res.Valid {
					t.Fatalf("frame %d: UDP checksum: %v %+v", p.n, err, res)
				}
			default:
				t.Fatalf("frame %d: IPv4 protocol %v", p.n, d.ip.Protocol)
			}
		default:
			t.Fatalf("frame %d: neither ARP nor IPv4: %v", p.n, d.pkt)
		}
	}
	if len(pkts) != truth.Packets || total != truth.Bytes {
		t.Errorf("read %d frames, %d bytes; Truth says %d, %d", len(pkts), total, truth.Packets, truth.Bytes)
	}
	if !pkts[0].ts.Equal(truth.First) || !pkts[len(pkts)-1].ts.Equal(truth.Last) {
		t.Errorf("first/last %s %s; Truth %s %s", pkts[0].ts, pkts[len(pkts)-1].ts, truth.First, truth.Last)
	}
	if truth.First.Before(DefaultStart) || truth.Last.Sub(truth.First) < 20*time.Second {
		t.Errorf("capture spans %s to %s", truth.First, truth.Last)
	}
}

// remoteCategory says, independently of the generator's tables, which
// Truth bucket traffic with each internet address belongs to.
var remoteCategory = map[string]string{
	"23.50.60.70":   "tiktok",
	"23.50.60.84":   "tiktok",
	"71.18.8.1":     "tiktok",
	"18.162.45.10":  "tencent",
	"52.58.100.20":  "dji",
	"3.64.22.10":    "dji",
	"104.18.24.57":  "pdd",
	"13.248.169.48": "pdd",
	"18.195.120.33": "hikvision",
	"1.1.1.1":       "hidden",
	"104.16.123.96": "hidden",
}

// tally recomputes the Truth from frames: per device (by MAC), per
// bucket, frame lengths each way and distinct 5-tuples.
func tally(t testing.TB, pkts []pkt, truth Truth) map[string]map[string]*Counts {
	t.Helper()
	byMAC := map[string]*DeviceTruth{}
	for i := range truth.Devices {
		byMAC[truth.Devices[i].MAC.String()] = &truth.Devices[i]
	}
	got := map[string]map[string]*Counts{}
	flows := map[string]bool{}
	for _, p := range pkts {
		d := decode(t, p)
		for _, side := range []struct {
			mac string
			out bool
		}{{d.eth.SrcMAC.String(), true}, {d.eth.DstMAC.String(), false}} {
			dev := byMAC[side.mac]
			if dev == nil {
				continue
			}
			bucket := "local"
			var flow string
			if d.ip != nil {
				self, remote := d.ip.SrcIP, d.ip.DstIP
				if !side.out {
					self, remote = remote, self
				}
				ra, _ := netip.AddrFromSlice(remote.To4())
				if ra.IsGlobalUnicast() && !ra.IsPrivate() {
					bucket = remoteCategory[ra.String()]
					if bucket == "" {
						bucket = "other"
					}
					var sp, rp uint16
					switch {
					case d.tcp != nil:
						sp, rp = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
					case d.udp != nil:
						sp, rp = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
					}
					if !side.out {
						sp, rp = rp, sp
					}
					flow = fmt.Sprintf("%s %v %s:%d %s:%d", dev.Hostname, d.ip.Protocol, self, sp, ra, rp)
				}
			}
			if got[dev.Hostname] == nil {
				got[dev.Hostname] = map[string]*Counts{}
			}
			for _, b := range []string{bucket, "total"} {
				c := got[dev.Hostname][b]
				if c == nil {
					c = new(Counts)
					got[dev.Hostname][b] = c
				}
				if side.out {
					c.BytesOut += uint64(len(p.data))
					c.PacketsOut++
				} else {
					c.BytesIn += uint64(len(p.data))
					c.PacketsIn++
				}
				if flow != "" && !flows[b+flow] {
					flows[b+flow] = true
					c.Flows++
				}
			}
		}
	}
	return got
}

// TestTruthMatchesFrames recomputes every device's counts from the frames
// read back and compares them with the Truth, at Scale 1 and 3.
func TestTruthMatchesFrames(t *testing.T) {
	for _, scale := range []int{1, 3} {
		t.Run(fmt.Sprintf("scale %d", scale), func(t *testing.T) {
			b, truth := writeCapture(t, Options{Seed: 11, Scale: scale})
			pkts := readCapture(t, b)
			got := tally(t, pkts, truth)
			for _, d := range truth.Devices {
				want := map[string]*Counts{"total": &d.Total}
				for k, c := range d.Exposures {
					want[k] = &c
				}
				for name, c := range map[string]Counts{"hidden": d.Hidden, "other": d.Other, "local": d.Local} {
					if c != (Counts{}) {
						want[name] = &c
					}
				}
				if diff := cmp.Diff(want, got[d.Hostname]); diff != "" {
					t.Errorf("%s (-truth +frames):\n%s", d.Hostname, diff)
				}
				var sum Counts
				for _, c := range d.Exposures {
					sum.Add(c)
				}
				sum.Add(d.Hidden)
				sum.Add(d.Other)
				sum.Add(d.Local)
				if sum != d.Total {
					t.Errorf("%s: buckets add up to %+v, total %+v", d.Hostname, sum, d.Total)
				}
			}
		})
	}
}

// stream is one TCP connection's payload in each direction.
type stream struct {
	client, server []byte
	firstClient    []byte // payload of the client's first data segment
	clientIP       string
	serverAddr     string
}

// tcpStreams gathers TCP payloads per connection; the generator sends in
// order without loss, so concatenation is reassembly.
func tcpStreams(t testing.TB, pkts []pkt, port layers.TCPPort) []*stream {
	t.Helper()
	var order []*stream
	conns := map[string]*stream{}
	for _, p := range pkts {
		d := decode(t, p)
		if d.tcp == nil || (d.tcp.DstPort != port && d.tcp.SrcPort != port) {
			continue
		}
		toServer := d.tcp.DstPort == port
		ca, cp, sa := d.ip.SrcIP, d.tcp.SrcPort, d.ip.DstIP
		if !toServer {
			ca, cp, sa = d.ip.DstIP, d.tcp.DstPort, d.ip.SrcIP
		}
		key := fmt.Sprintf("%s:%d-%s", ca, cp, sa)
		s := conns[key]
		if s == nil {
			s = &stream{clientIP: ca.String(), serverAddr: sa.String()}
			conns[key] = s
			order = append(order, s)
		}
		if toServer {
			if s.firstClient == nil && len(d.tcp.Payload) > 0 {
				s.firstClient = slices.Clone(d.tcp.Payload)
			}
			s.client = append(s.client, d.tcp.Payload...)
		} else {
			s.server = append(s.server, d.tcp.Payload...)
		}
	}
	return order
}

// TestTLS parses every TLS connection's ClientHello and server flight back
// with tlshello.
func TestTLS(t *testing.T) {
	_, _, pkts := demoCapture(t)
	type want struct {
		client, sni string
		ech, split  bool
		certOrg     string // TLS 1.2 certificate organisation; "" means TLS 1.3
	}
	wants := []want{
		{client: "192.168.50.10", sni: "cloudflare-dns.com"},
		{client: "192.168.50.10", sni: "cloudflare-ech.com", ech: true},
		{client: "192.168.50.10", sni: "www.tiktok.com", split: true},
		{client: "192.168.50.10", sni: "p16-sign-va.tiktokcdn.com"},
		{client: "192.168.50.10", sni: "api16-normal-useast5.us.tiktokv.com"},
		{client: "192.168.50.10", sni: "www.wikipedia.org"},
		{client: "192.168.50.10", sni: "www.google.com"},
		{client: "192.168.50.11", sni: "gateway.icloud.com"},
		{client: "192.168.50.11", sni: "mydjiflight.dji.com"},
		{client: "192.168.50.12", sni: "flysafe-api.dji.com"},
		{client: "192.168.50.20", sni: "settings-win.data.microsoft.com"},
		{client: "192.168.50.20", sni: "www.temu.com"},
		{client: "192.168.50.20", sni: "fe3cr.delivery.mp.microsoft.com"},
		{client: "192.168.50.30", sni: "apiieu.hik-connect.com", certOrg: "Hangzhou Hikvision Digital Technology Co., Ltd."},
		{client: "192.168.50.40", sni: "www.xerox.com"},
	}
	streams := tcpStreams(t, pkts, 443)
	got := map[string]*stream{}
	for _, s := range streams {
		h, _, err := tlshello.ParseClientHello(s.client)
		if err != nil {
			t.Fatalf("%s -> %s: ClientHello: %v", s.clientIP, s.serverAddr, err)
		}
		if got[h.SNI] != nil {
			t.Fatalf("SNI %s seen twice", h.SNI)
		}
		got[h.SNI] = s
	}
	if len(got) != len(wants) {
		t.Errorf("%d TLS connections, want %d", len(got), len(wants))
	}
	for _, w := range wants {
		t.Run(w.sni, func(t *testing.T) {
			s := got[w.sni]
			if s == nil {
				t.Fatal("no connection")
			}
			if s.clientIP != w.client {
				t.Errorf("client %s, want %s", s.clientIP, w.client)
			}
			h, _, _ := tlshello.ParseClientHello(s.client)
			if h.ECH != w.ech || h.MaxVersion() != 0x0304 {
				t.Errorf("ECH %v, max version %#x", h.ECH, h.MaxVersion())
			}
			// The split ClientHello needs the second segment.
			_, need, err := tlshello.ParseClientHello(s.firstClient)
			if split := errors.Is(err, tlshello.ErrNeedMore); split != w.split {
				t.Errorf("first segment (%d bytes) alone: need %d, %v", len(s.firstClient), need, err)
			}
			c, _, err := tlshello.ParseServerCertificate(s.server)
			switch {
			case w.certOrg == "":
				if !errors.Is(err, tlshello.ErrEncryptedCertificate) {
					t.Errorf("server flight: %v, want TLS 1.3", err)
				}
			case err != nil:
				t.Errorf("certificate: %v", err)
			default:
				if !slices.Equal(c.Organization, []string{w.certOrg}) || c.Version != 0x0303 {
					t.Errorf("certificate organisation %q, version %#x", c.Organization, c.Version)
				}
				if !slices.Contains(c.DNSNames, "*.hik-connect.com") {
					t.Errorf("certificate names %q", c.DNSNames)
				}
			}
		})
	}
}

// TestQUIC decrypts the phone's QUIC Initial and checks that nothing else
// in the capture looks like a client Initial or names WeChat in DNS.
func TestQUIC(t *testing.T) {
	_, _, pkts := demoCapture(t)
	initials := 0
	for _, p := range pkts {
		d := decode(t, p)
		if d.udp == nil {
			continue
		}
		if d.udp.DstPort == 53 || d.udp.SrcPort == 53 {
			if bytes.Contains(d.udp.Payload, []byte("weixin")) {
				t.Errorf("frame %d: DNS names WeChat", p.n)
			}
			continue
		}
		if d.udp.DstPort != 443 || !quic.LooksLikeInitial(d.udp.Payload) {
			continue
		}
		initials++
		info, err := quic.ParseClientInitial(d.udp.Payload)
		if err != nil {
			t.Fatalf("frame %d: %v", p.n, err)
		}
		if info.Hello.SNI != "hkminorshort.weixin.qq.com" || info.Version != 1 || !info.Hello.QUIC {
			t.Errorf("frame %d: SNI %q version %#x", p.n, info.Hello.SNI, info.Version)
		}
		if d.ip.SrcIP.String() != "192.168.50.11" || len(d.udp.Payload) != quic.MinInitialDatagram {
			t.Errorf("frame %d: from %s, %d bytes", p.n, d.ip.SrcIP, len(d.udp.Payload))
		}
	}
	if initials != 1 {
		t.Errorf("%d client Initials, want 1", initials)
	}
}

// TestNames checks what tells the names: DHCP option 12 and mDNS for the
// devices, DNS answers (with the CNAME chain) for the servers, HTTP Host.
func TestNames(t *testing.T) {
	_, truth, pkts := demoCapture(t)
	dhcpNames := map[string]string{} // MAC -> hostname from REQUEST
	mdnsNames := map[string]string{} // name -> address
	answers := map[string][]string{} // question -> answer chain
	for _, p := range pkts {
		d := decode(t, p)
		if dh, ok := d.pkt.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok {
			var typ layers.DHCPMsgType
			var host string
			for _, o := range dh.Options {
				switch o.Type {
				case layers.DHCPOptMessageType:
					typ = layers.DHCPMsgType(o.Data[0])
				case layers.DHCPOptHostname:
					host = string(o.Data)
				}
			}
			if typ == layers.DHCPMsgTypeRequest {
				dhcpNames[dh.ClientHWAddr.String()] = host
			}
		}
		if d.udp != nil && d.udp.DstPort == 5353 {
			var m layers.DNS
			if err := m.DecodeFromBytes(d.udp.Payload, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("frame %d: mDNS: %v", p.n, err)
			}
			for _, a := range m.Answers {
				mdnsNames[string(a.Name)] = a.IP.String()
			}
		}
		if dn, ok := d.pkt.Layer(layers.LayerTypeDNS).(*layers.DNS); ok && dn.QR {
			var chain []string
			for _, a := range dn.Answers {
				switch a.Type {
				case layers.DNSTypeCNAME:
					chain = append(chain, string(a.CNAME))
				case layers.DNSTypeA:
					chain = append(chain, a.IP.String())
				}
			}
			answers[string(dn.Questions[0].Name)] = chain
		}
	}
	for _, d := range truth.Devices {
		if got := dhcpNames[d.MAC.String()]; got != d.Hostname {
			t.Errorf("DHCP hostname of %s: %q, want %q", d.MAC, got, d.Hostname)
		}
	}
	if diff := cmp.Diff(map[string]string{"ana-laptop.local": "192.168.50.10", "ben-phone.local": "192.168.50.11"}, mdnsNames); diff != "" {
		t.Errorf("mDNS (-want +got):\n%s", diff)
	}
	for q, want := range map[string][]string{
		"www.tiktok.com":                      {"www.tiktok.com.edgesuite.net", "a1234.dscb.akamai.net", "23.50.60.70"},
		"p16-sign-va.tiktokcdn.com":           {"p16-sign-va.tiktokcdn.com.edgekey.net", "e4321.a.akamaiedge.net", "23.50.60.84"},
		"api16-normal-useast5.us.tiktokv.com": {"71.18.8.1"},
		"mydjiflight.dji.com":                 {"52.58.100.20"},
		"flysafe-api.dji.com":                 {"3.64.22.10"},
		"www.temu.com":                        {"www.temu.com.cdn.cloudflare.net", "104.18.24.57"},
		"kuajing.pinduoduo.com":               {"13.248.169.48"},
		"apiieu.hik-connect.com":              {"18.195.120.33"},
	} {
		if diff := cmp.Diff(want, answers[q]); diff != "" {
			t.Errorf("DNS answer for %s (-want +got):\n%s", q, diff)
		}
	}
	for _, hidden := range []string{"hkminorshort.weixin.qq.com", "cloudflare-dns.com", "cloudflare-ech.com"} {
		if _, ok := answers[hidden]; ok {
			t.Errorf("DNS answers %s, which only the handshake should show", hidden)
		}
	}

	var hosts []string
	for _, s := range tcpStreams(t, pkts, 80) {
		for _, line := range strings.Split(string(s.client), "\r\n") {
			if h, ok := strings.CutPrefix(line, "Host: "); ok {
				hosts = append(hosts, s.clientIP+" "+h+" "+s.serverAddr)
			}
		}
		if !strings.HasPrefix(string(s.server), "HTTP/1.1 200 OK\r\n") {
			t.Errorf("HTTP response from %s: %.40q", s.serverAddr, s.server)
		}
	}
	if diff := cmp.Diff([]string{"192.168.50.10 example.com 93.184.215.14", "192.168.50.20 kuajing.pinduoduo.com 13.248.169.48"}, sortStrings(hosts)); diff != "" {
		t.Errorf("HTTP Host (-want +got):\n%s", diff)
	}
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// TestScale checks that repetitions come later, use other client ports,
// and do not repeat DHCP.
func TestScale(t *testing.T) {
	b1, t1 := writeCapture(t, Options{Seed: 5, Scale: 1})
	b3, t3 := writeCapture(t, Options{Seed: 5, Scale: 3})
	if !bytes.HasPrefix(b3, b1) {
		t.Error("the first repetition of Scale 3 differs from Scale 1")
	}
	if t3.Packets < 3*t1.Packets-100 || t3.Bytes < 3*t1.Bytes-200000 || t3.Last.Sub(t3.First) < 2*t1.Last.Sub(t1.First) {
		t.Errorf("Scale 3: %d packets %d bytes to %s; Scale 1: %d, %d to %s", t3.Packets, t3.Bytes, t3.Last, t1.Packets, t1.Bytes, t1.Last)
	}
	count := func(b []byte) (conns map[string]int, dhcp int) {
		conns = map[string]int{}
		for _, p := range readCapture(t, b) {
			d := decode(t, p)
			if d.tcp != nil && d.tcp.SYN && !d.tcp.ACK {
				conns[fmt.Sprintf("%s:%d-%s:%d", d.ip.SrcIP, d.tcp.SrcPort, d.ip.DstIP, d.tcp.DstPort)]++
			}
			if d.pkt.Layer(layers.LayerTypeDHCPv4) != nil {
				dhcp++
			}
		}
		return conns, dhcp
	}
	conns1, _ := count(b1)
	conns, dhcp := count(b3)
	for k, n := range conns {
		if n > 1 {
			t.Errorf("connection %s opened %d times", k, n)
		}
	}
	if len(conns) != 3*len(conns1) || len(conns1) != 17 {
		t.Errorf("%d connections at Scale 3, %d at Scale 1 (want 17)", len(conns), len(conns1))
	}
	if dhcp != 4*len(t3.Devices) {
		t.Errorf("%d DHCP messages, want %d", dhcp, 4*len(t3.Devices))
	}
	for i, d := range t3.Devices {
		if d1 := t1.Devices[i]; d.Total.Flows != 3*d1.Total.Flows {
			t.Errorf("%s: %d flows at Scale 3, %d at Scale 1", d.Hostname, d.Total.Flows, d1.Total.Flows)
		}
	}
}

type failWriter struct{ n, limit int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errors.New("disk full")
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for _, limit := range []int{0, 10, 300 << 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			_, err := Write(&failWriter{limit: limit}, Options{Seed: 1})
			if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "demo: ") {
				t.Errorf("got %v", err)
			}
		})
	}
}

// BenchmarkWrite measures one repetition of the scene, about 2 MB.
func BenchmarkWrite(b *testing.B) {
	var n countWriter
	_, _ = Write(&n, Options{Seed: 1})
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(io.Discard, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// FuzzWrite checks, for any seed and start time, that Write succeeds and
// that its Truth matches the frames it wrote.
func FuzzWrite(f *testing.F) {
	f.Add(int64(1), int64(0))
	f.Add(int64(-42), DefaultStart.Unix())
	f.Add(int64(1<<62), int64(4102444800)) // 2100
	f.Fuzz(func(t *testing.T, seed, start int64) {
		if start < 0 || start > 1<<32-1e6 {
			t.Skip("pcap keeps 32-bit seconds")
		}
		opt := Options{Seed: seed}
		if start != 0 {
			opt.Start = time.Unix(start, 0)
		}
		b, truth := writeCapture(t, opt)
		got := tally(t, readCapture(t, b), truth)
		for _, d := range truth.Devices {
			if g := got[d.Hostname]["total"]; g == nil || *g != d.Total {
				t.Fatalf("%s: frames %+v, Truth %+v", d.Hostname, g, d.Total)
			}
			for k, c := range d.Exposures {
				if g := got[d.Hostname][k]; g == nil || *g != c {
					t.Fatalf("%s %s: frames %+v, Truth %+v", d.Hostname, k, g, c)
				}
			}
		}
	})
}
