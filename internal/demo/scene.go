package demo

import (
	"fmt"
	"iter"
	"net/netip"
	"time"
)

// The scene. Internet addresses are chosen outside every Chinese
// provider's prefixes, so a scanner can only attribute these flows by the
// names the capture shows (and the camera's certificate), never by the
// address's ASN; the one exception is 71.18.8.1, which belongs to TikTok
// U.S. Data Security (AS11983).
var (
	routerMAC = mac{0x00, 0x09, 0x5b, 0x3c, 0x10, 0x01} // Netgear
	routerIP  = addr("192.168.50.1")

	// Akamai edge addresses (AS20940/AS16625) serving TikTok.
	ipTikTokWeb = addr("23.50.60.70")
	ipTikTokCDN = addr("23.50.60.84")
	ipTikTokUS  = addr("71.18.8.1")
	// AWS Hong Kong: WeChat's QUIC endpoint, deliberately not a Tencent
	// address so that only the QUIC SNI names it.
	ipWeChat      = addr("18.162.45.10")
	ipDJIFlight   = addr("52.58.100.20")  // AWS Frankfurt
	ipDJIFlysafe  = addr("3.64.22.10")    // AWS Frankfurt
	ipTemu        = addr("104.18.24.57")  // Cloudflare
	ipPinduoduo   = addr("13.248.169.48") // AWS Global Accelerator
	ipHikConnect  = addr("18.195.120.33") // AWS Frankfurt
	ipWikipedia   = addr("185.15.59.224")
	ipGoogle      = addr("142.250.185.68")
	ipExample     = addr("93.184.215.14")
	ipCloudflare  = addr("1.1.1.1")
	ipECH         = addr("104.16.123.96")
	ipICloud      = addr("17.248.190.5")
	ipWinSettings = addr("20.42.65.92")
	ipWinUpdate   = addr("20.69.137.228")
	ipTimeWindows = addr("20.101.57.9")
	ipTimeGoogle  = addr("216.239.35.4")
	ipXerox       = addr("65.8.161.20")
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// Application protocol offers.
var (
	alpnBrowser = []string{"h2", "http/1.1"}
	alpnH2      = []string{"h2"}
)

const (
	uaWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36"
	uaLinux   = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

type node struct {
	mac mac
	ip  netip.Addr
}

// gen holds the scene and the devices' running tallies.
type gen struct {
	opt    Options
	router node
	devs   []*device
	bodies []func(*script)

	hikLeaf, hikCA []byte
	err            error
}

// fail records the first error of a script; Write returns it.
func (s *script) fail(err error) {
	if s.g.err == nil {
		s.g.err = fmt.Errorf("demo: %w", err)
	}
}

func newGen(opt Options) (*gen, error) {
	g := &gen{opt: opt, router: node{mac: routerMAC, ip: routerIP}}
	var err error
	g.hikLeaf, g.hikCA, err = hikvisionChain(opt.Start)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	add := func(name string, m mac, ip string, ttl byte, macEntity string, body func(*script)) {
		g.devs = append(g.devs, &device{
			name: name, mac: m, ip: addr(ip), ttl: ttl, macEntity: macEntity,
			exposures: map[string]*Counts{}, evidence: map[string][]string{},
		})
		g.bodies = append(g.bodies, body)
	}
	add("ana-laptop", mac{0x00, 0x14, 0x22, 0xa1, 0xb2, 0xc3}, "192.168.50.10", 64, "", laptop)   // Dell
	add("ben-phone", mac{0x00, 0x03, 0x93, 0x4e, 0x27, 0x9d}, "192.168.50.11", 64, "", phone)     // Apple
	add("dji-rc", mac{0x60, 0x60, 0x1f, 0x3a, 0x7c, 0x21}, "192.168.50.12", 64, EntityDJI, rc)    // SZ DJI Technology
	add("finance-pc", mac{0x00, 0x1b, 0x21, 0x5d, 0x0e, 0x48}, "192.168.50.20", 128, "", desktop) // Intel
	add("cam-lobby", mac{0x44, 0x47, 0xcc, 0x5e, 0x90, 0x12}, "192.168.50.30", 64, EntityHikvision, camera)
	add("printer-2f", mac{0x08, 0x00, 0x37, 0x6b, 0x21, 0x0f}, "192.168.50.40", 64, "", printer) // Xerox
	return g, nil
}

// scripts returns one repetition's scripts: one per device, starting a
// little apart, and the router's own broadcasts.
func (g *gen) scripts(rep int, t0 time.Time) []iter.Seq[frame] {
	out := make([]iter.Seq[frame], 0, len(g.devs)+1)
	for i, d := range g.devs {
		s := g.newScript(d, rep, i, t0)
		s.waitUS(i*150000, i*150000+400000)
		out = append(out, s.run(g.bodies[i]))
	}
	out = append(out, g.newScript(nil, rep, len(g.devs), t0).run(noise))
	return out
}

// join is how every device starts: DHCP in the first repetition, then an
// ARP for the gateway.
func join(s *script) {
	if s.rep == 0 {
		s.dhcp()
	}
	s.arpGateway()
}

func laptop(s *script) {
	join(s)
	if s.rep == 0 {
		s.mdnsAnnounce()
	}
	s.ssdpSearch()
	// The browser's DNS over HTTPS, then a site behind Encrypted
	// ClientHello: names hidden.
	s.idle()
	s.tlsFlow(tlsSpec{sni: "cloudflare-dns.com", addr: ipCloudflare, alpn: alpnH2, acct: s.hiddenFlow(),
		ex: []exchange{{420, 600}, {380, 540}, {400, 1100}}})
	s.idle()
	s.tlsFlow(tlsSpec{sni: "cloudflare-ech.com", addr: ipECH, alpn: alpnBrowser, ech: true, acct: s.hiddenFlow(),
		ex: []exchange{{900, 38000}, {700, 12000}}})

	// TikTok in the browser: the web front end and the video CDN on
	// Akamai, the API at TikTok U.S. Data Security's address (named as
	// TikTok's by its hostname).
	s.idle()
	ip := s.resolve("www.tiktok.com",
		rrCNAME("www.tiktok.com", "www.tiktok.com.edgesuite.net", 300),
		rrCNAME("www.tiktok.com.edgesuite.net", "a1234.dscb.akamai.net", 21600),
		rrA("a1234.dscb.akamai.net", ipTikTokWeb, 20))
	s.tlsFlow(tlsSpec{sni: "www.tiktok.com", addr: ip, alpn: alpnBrowser, split: true,
		acct: s.expose(EntityTikTok, "www.tiktok.com"),
		ex:   []exchange{{1400, 62000}, {28000, 1800}, {900, 95000}}})
	s.idle()
	ip = s.resolve("p16-sign-va.tiktokcdn.com",
		rrCNAME("p16-sign-va.tiktokcdn.com", "p16-sign-va.tiktokcdn.com.edgekey.net", 300),
		rrCNAME("p16-sign-va.tiktokcdn.com.edgekey.net", "e4321.a.akamaiedge.net", 21600),
		rrA("e4321.a.akamaiedge.net", ipTikTokCDN, 20))
	s.tlsFlow(tlsSpec{sni: "p16-sign-va.tiktokcdn.com", addr: ip, alpn: alpnBrowser,
		acct: s.expose(EntityTikTok, "p16-sign-va.tiktokcdn.com"),
		ex:   []exchange{{700, 340000}, {700, 260000}}})
	s.idle()
	ip = s.resolve("api16-normal-useast5.us.tiktokv.com",
		rrA("api16-normal-useast5.us.tiktokv.com", ipTikTokUS, 60))
	s.tlsFlow(tlsSpec{sni: "api16-normal-useast5.us.tiktokv.com", addr: ip, alpn: alpnBrowser,
		acct: s.expose(EntityTikTok, "api16-normal-useast5.us.tiktokv.com"),
		ex:   []exchange{{2600, 7800}, {14000, 1300}, {1600, 31000}}})

	// Ordinary browsing.
	s.idle()
	ip = s.resolve("www.wikipedia.org", rrA("www.wikipedia.org", ipWikipedia, 600))
	s.tlsFlow(tlsSpec{sni: "www.wikipedia.org", addr: ip, alpn: alpnBrowser, acct: s.otherFlow(),
		ex: []exchange{{700, 70000}}})
	s.idle()
	ip = s.resolve("www.google.com", rrA("www.google.com", ipGoogle, 300))
	s.tlsFlow(tlsSpec{sni: "www.google.com", addr: ip, alpn: alpnBrowser, acct: s.otherFlow(),
		ex: []exchange{{900, 45000}, {1200, 8000}}})
	s.idle()
	ip = s.resolve("example.com", rrA("example.com", ipExample, 3600))
	s.httpGet(ip, "example.com", "/", uaLinux, 1256, s.otherFlow())
}

func phone(s *script) {
	join(s)
	if s.rep == 0 {
		s.mdnsAnnounce()
	}
	s.idle()
	ip := s.resolve("gateway.icloud.com",
		rrCNAME("gateway.icloud.com", "gateway.fe2.apple-dns.net", 300),
		rrA("gateway.fe2.apple-dns.net", ipICloud, 60))
	s.tlsFlow(tlsSpec{sni: "gateway.icloud.com", addr: ip, alpn: alpnH2, acct: s.otherFlow(),
		ex: []exchange{{1800, 9000}, {600, 4200}}})
	// DJI Fly syncing flight logs: more up than down.
	s.idle()
	ip = s.resolve("mydjiflight.dji.com", rrA("mydjiflight.dji.com", ipDJIFlight, 60))
	s.tlsFlow(tlsSpec{sni: "mydjiflight.dji.com", addr: ip, alpn: alpnH2,
		acct: s.expose(EntityDJI, "mydjiflight.dji.com"),
		ex:   []exchange{{3800, 11500}, {46000, 900}, {2200, 6400}}})
	// WeChat over QUIC, its name resolved earlier or hard-coded: no DNS
	// query in the capture.
	const wechat = "hkminorshort.weixin.qq.com"
	s.idle()
	if err := s.quicFlow(ipWeChat, wechat, s.expose(EntityTencent, wechat),
		[]exchange{{800, 3000}, {6400, 1200}, {1100, 18000}}); err != nil {
		s.fail(err)
	}
}

func rc(s *script) {
	join(s)
	s.idle()
	ip := s.resolve("flysafe-api.dji.com", rrA("flysafe-api.dji.com", ipDJIFlysafe, 60))
	s.tlsFlow(tlsSpec{sni: "flysafe-api.dji.com", addr: ip, alpn: alpnH2,
		acct: s.expose(EntityDJI, "flysafe-api.dji.com"),
		ex:   []exchange{{1500, 23000}, {900, 4100}}})
}

func desktop(s *script) {
	join(s)
	s.idle()
	ip := s.resolve("settings-win.data.microsoft.com",
		rrCNAME("settings-win.data.microsoft.com", "settings-prod-weu-1.westeurope.cloudapp.azure.com", 300),
		rrA("settings-prod-weu-1.westeurope.cloudapp.azure.com", ipWinSettings, 10))
	s.tlsFlow(tlsSpec{sni: "settings-win.data.microsoft.com", addr: ip, acct: s.otherFlow(),
		ex: []exchange{{1300, 5200}}})
	s.idle()
	ip = s.resolve("www.temu.com",
		rrCNAME("www.temu.com", "www.temu.com.cdn.cloudflare.net", 300),
		rrA("www.temu.com.cdn.cloudflare.net", ipTemu, 300))
	s.tlsFlow(tlsSpec{sni: "www.temu.com", addr: ip, alpn: alpnBrowser,
		acct: s.expose(EntityPDD, "www.temu.com"),
		ex:   []exchange{{1900, 118000}, {2600, 84000}, {3100, 9000}}})
	s.idle()
	ip = s.resolve("kuajing.pinduoduo.com", rrA("kuajing.pinduoduo.com", ipPinduoduo, 60))
	s.httpGet(ip, "kuajing.pinduoduo.com", "/", uaWindows, 18000, s.expose(EntityPDD, "kuajing.pinduoduo.com"))
	s.idle()
	ip = s.resolve("fe3cr.delivery.mp.microsoft.com",
		rrA("fe3cr.delivery.mp.microsoft.com", ipWinUpdate, 300))
	s.tlsFlow(tlsSpec{sni: "fe3cr.delivery.mp.microsoft.com", addr: ip, acct: s.otherFlow(),
		ex: []exchange{{1200, 150000}}})
}

func camera(s *script) {
	join(s)
	// Hikvision's default time server.
	s.idle()
	ip := s.resolve("time.windows.com", rrA("time.windows.com", ipTimeWindows, 900))
	s.ntp(ip, s.port(), s.otherFlow())
	// The cloud registration: TLS 1.2, so the certificate is in clear;
	// then an event clip uploaded.
	s.idle()
	ip = s.resolve("apiieu.hik-connect.com", rrA("apiieu.hik-connect.com", ipHikConnect, 60))
	s.tlsFlow(tlsSpec{sni: "apiieu.hik-connect.com", addr: ip, chain: [][]byte{s.g.hikLeaf, s.g.hikCA},
		acct: s.expose(EntityHikvision, "apiieu.hik-connect.com"),
		ex:   []exchange{{3000, 1500}, {122000, 2100}, {2800, 1400}}})
}

func printer(s *script) {
	join(s)
	s.ssdpNotify()
	s.idle()
	ip := s.resolve("time.google.com", rrA("time.google.com", ipTimeGoogle, 3600))
	s.ntp(ip, s.port(), s.otherFlow())
	s.idle()
	ip = s.resolve("www.xerox.com", rrA("www.xerox.com", ipXerox, 60))
	s.tlsFlow(tlsSpec{sni: "www.xerox.com", addr: ip, alpn: alpnBrowser, acct: s.otherFlow(),
		ex: []exchange{{1100, 14000}}})
}

// noise is the router's own broadcast traffic, which belongs to no
// device: ARP requests for addresses nobody holds, UPnP announcements.
func noise(s *script) {
	r := s.g.router
	for _, last := range []byte{77, 103, 150} {
		s.waitUS(200000, 3000000)
		s.buf = appendEth(s.buf[:0], broadcastMAC, r.mac, etherARP)
		s.buf = appendARP(s.buf, false, r.mac, r.ip, mac{}, netip.AddrFrom4([4]byte{192, 168, 50, last}))
		s.emit(nil)
	}
	s.waitUS(100000, 900000)
	msg := "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://192.168.50.1:5000/rootDesc.xml\r\nNT: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nNTS: ssdp:alive\r\nSERVER: Linux/5.4 UPnP/1.1 MiniUPnPd/2.3\r\nUSN: uuid:5f1c2a8e-0b7d-4a51-9d57-3c6a1e0d9b11::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
	h := s.routerHdr(ipSSDP)
	h.ttl = 4
	s.udp(ssdpMAC, r.mac, h, 1900, 1900, []byte(msg), nil)
}
