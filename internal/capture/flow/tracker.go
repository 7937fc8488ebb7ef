package flow

import (
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sniff/dnsmsg"
	"github.com/outflow-dev/outflow/internal/sniff/httphost"
	"github.com/outflow-dev/outflow/internal/sniff/mqtt"
	"github.com/outflow-dev/outflow/internal/sniff/quic"
	"github.com/outflow-dev/outflow/internal/sniff/signature"
	"github.com/outflow-dev/outflow/internal/sniff/starttls"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
	"github.com/outflow-dev/outflow/internal/sniff/xmpp"
)

// Config bounds the tracker.
type Config struct {
	// Local are the inside networks; devices live there. Default: the
	// private, link-local and unique-local ranges.
	Local []netip.Prefix
	// MaxFlows bounds the table; when full the least recently seen flow is
	// evicted early (counted in Stats.Evicted).
	MaxFlows int
	// Idle timeouts, in capture time.
	TCPIdle, UDPIdle, ClosedIdle time.Duration
	// MaxDNS bounds the remembered DNS answers.
	MaxDNS int
	// DNSGrace keeps an answer this long past its TTL: devices use
	// addresses after the TTL runs out.
	DNSGrace time.Duration
	// Interesting, if set, tells which names the catalog knows, so that
	// the name kept from a CNAME chain is the one that attributes.
	Interesting func(name string) bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Local:    flowrec.DefaultLocal(),
		MaxFlows: 200_000, TCPIdle: 5 * time.Minute, UDPIdle: 2 * time.Minute, ClosedIdle: 10 * time.Second,
		MaxDNS: 200_000, DNSGrace: 10 * time.Minute,
	}
}

// Stats counts what the tracker did.
type Stats struct {
	Packets, NotIP, Decoded uint64
	Flows                   uint64 // flows created
	Evicted                 uint64 // flows evicted early because the table was full
	DNSAnswers, DNSEvicted  uint64
	Fragments, FragOrphans  uint64
	HellosTooLarge          uint64
	Reassembled             uint64 // ClientHellos that spanned several segments
	STARTTLS                uint64 // text sessions (SMTP, IMAP, POP3, FTP, XMPP) seen turning into TLS
	XMPPHeaders             uint64 // XMPP stream headers that named the server's domain
	MQTTConnects            uint64 // MQTT CONNECT packets read on TCP 1883
}

// Sink receives finished flows. The flow is only valid during the call.
type Sink func(*flowrec.Flow)

// Tracker is the flow table. It is not safe for concurrent use.
type Tracker struct {
	cfg   Config
	sink  Sink
	flows map[Key]int32 // index into slab
	slab  []entry
	free  []int32
	lru   lru
	dns   *dnsMemory
	devs  *Devices
	frags map[fragKey]fragEntry
	now   int64
	sweep int64
	qpool assemblerPool
	// certBufs are the buffers of flows done with the server's
	// certificate, for the next flows to collect theirs in: a flow stays
	// in the table long after its handshake, and kept its buffer until
	// it ended, so every new TLS flow grew a new one (on distinct flows,
	// the zeroing and page faults of those were 1.4 % of a scan).
	certBufs [][]byte
	peers    peerMemory
	names    map[string]string
	dnsMsg   dnsmsg.Message
	// onLinks are the addresses the capture showed on its own link
	// (ARP, DHCP, neighbour discovery): inside whatever cfg.Local says
	onLinks map[netip.Addr]string // how: "arp", "dhcp", "ndp"
	// hubs counts the counterparts of addresses in flows with no inside
	// end, to find the capture's vantage point (deviceIsDst)
	hubs  hubs
	certs tlshello.CertCache // what recent server certificates said
	Stats Stats
}

// maxOnLink bounds the addresses learnt to be on the link; past it, none
// is added (a link of more hosts is not one a sensor watches).
const maxOnLink = 65_536

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragEntry struct {
	key     Key
	hasKey  bool
	pending uint64 // bytes of fragments seen before the first one
	pendPk  uint64
	seen    int64
}

// New returns a tracker that hands finished flows to sink.
func New(cfg Config, sink Sink) *Tracker {
	def := DefaultConfig()
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = def.MaxFlows
	}
	if cfg.MaxDNS <= 0 {
		cfg.MaxDNS = def.MaxDNS
	}
	t := &Tracker{
		cfg: cfg, sink: sink,
		flows: make(map[Key]int32, 1024),
		dns:   newDNSMemory(cfg.MaxDNS, cfg.DNSGrace),
		devs:  newDevices(),
		frags: map[fragKey]fragEntry{},
	}
	t.lru.ensure()
	t.peers.init(cfg.MaxDNS)
	t.names = map[string]string{}
	return t
}

// Devices is what the tracker learned of the inside devices.
func (t *Tracker) Devices() *Devices { return t.devs }

// IsLocal reports whether an address is inside: in the configured
// ranges (Config.Local), or shown on the captured link by ARP, DHCP or
// neighbour discovery before its flow began.
func (t *Tracker) IsLocal(a netip.Addr) bool {
	if flowrec.Local(t.cfg.Local).Contains(a) {
		return true
	}
	_, ok := t.onLinks[a]
	return ok
}

// OnLink says how the capture showed an address outside the configured
// ranges to be on its link ("arp", "dhcp" or "ndp"), making it inside;
// empty for any other address.
func (t *Tracker) OnLink(a netip.Addr) string {
	if flowrec.Local(t.cfg.Local).Contains(a) {
		return ""
	}
	return t.onLinks[a]
}

// onLink notes that a is on the captured link, as how says.
func (t *Tracker) onLink(a netip.Addr, how string) {
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return
	}
	if _, ok := t.onLinks[a]; ok || len(t.onLinks) >= maxOnLink {
		return
	}
	if t.onLinks == nil {
		t.onLinks = map[netip.Addr]string{}
	}
	t.onLinks[a] = how
}

// neighbour learns from an ICMPv6 neighbour solicitation or
// advertisement (RFC 4861) which addresses are on the link: the sender's
// (not the unspecified one of duplicate address detection) and an
// advertisement's target. As RFC 4861 (7.1.1, 7.1.2) has receivers do,
// a message whose hop limit is not 255 is ignored: it was routed, or
// forged from off the link.
func (t *Tracker) neighbour(p *decode.Packet) {
	b := p.Payload
	if len(b) < 24 || b[1] != 0 || b[0] != 135 && b[0] != 136 || p.HopLimit != 255 {
		return
	}
	t.onLink(p.Src, "ndp")
	if b[0] == 136 {
		t.onLink(netip.AddrFrom16([16]byte(b[8:24])), "ndp")
	}
}

// Packet feeds one decoded packet of wireLen bytes seen at ts.
func (t *Tracker) Packet(p *decode.Packet, wireLen int, ts time.Time) { t.PacketN(p, wireLen, 1, ts) }

// PacketN feeds one decoded packet that stands for n packets of wireLen
// bytes each (a sampled packet, n its sampling rate): the flow's counters
// grow by n and n*wireLen, while names are learnt from the one payload.
// n == 0 is taken as 1.
func (t *Tracker) PacketN(p *decode.Packet, wireLen int, n uint64, ts time.Time) {
	if n == 0 {
		n = 1
	}
	if p.ARP {
		t.Stats.NotIP++ // counted as before ARP was read: no flow
		t.onLink(p.Src, "arp")
		return
	}
	bytes := uint64(wireLen) * n
	now := ts.UnixNano()
	if now > t.now {
		t.now = now
	}
	t.Stats.Packets++
	if t.sweep == 0 {
		t.sweep = t.now
	}
	if t.now-t.sweep > int64(10*time.Second) {
		t.expire(t.now)
		t.sweep = t.now
	}
	var pendBytes, pendPk uint64
	if p.Fragment {
		var done bool
		if done, pendBytes, pendPk = t.fragment(p, bytes, n, now); done {
			return
		}
	}
	if p.Proto != TCP && p.Proto != UDP {
		if p.Proto == 58 /* ICMPv6 */ && !p.Fragment && p.Tunnel == decode.NoTunnel {
			t.neighbour(p)
		}
		return
	}
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	if p.Proto == UDP {
		t.udpService(p, src, dst, now) // DNS, DHCP, mDNS: counted as flows too
	}
	k, _ := makeKey(src, dst, uint8(p.Proto))
	idx, ok := t.flows[k]
	var f *entry
	if !ok {
		f, _ = t.newFlow(k, p, src, dst, now)
	} else {
		f = &t.slab[idx]
		t.lru.touch(t.slab, idx)
	}
	out := f.Device == p.Src && f.DevicePort == p.SrcPort
	if out {
		f.BytesOut += bytes + pendBytes
		f.PacketsOut += n + pendPk
		if p.HasMAC && !f.HasMAC {
			f.DeviceMAC, f.HasMAC = p.SrcMAC, true
		}
	} else {
		f.BytesIn += bytes + pendBytes
		f.PacketsIn += n + pendPk
	}
	f.Last = now
	if p.Proto == TCP && p.TCPFlags&(decode.FIN|decode.RST) != 0 {
		f.fin++
	}
	t.learn(f, p, out)
}

func (t *Tracker) newFlow(k Key, p *decode.Packet, src, dst netip.AddrPort, now int64) (*entry, int32) {
	if len(t.flows) >= t.cfg.MaxFlows {
		if old := t.lru.oldest(); old >= 0 {
			t.finish(old)
			t.Stats.Evicted++
		}
	}
	var idx int32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.slab = append(t.slab, entry{})
		idx = int32(len(t.slab) - 1)
	}
	f := &t.slab[idx]
	hello, cert := f.hello[:0], f.cert[:0]
	*f = entry{hello: hello, cert: cert, Flow: flowrec.Flow{First: now, Last: now, Proto: uint8(p.Proto)}}
	dev, peer := src, dst
	if t.deviceIsDst(p, src, dst) {
		dev, peer = dst, src
	}
	f.Device, f.DevicePort, f.Peer, f.PeerPort = dev.Addr(), dev.Port(), peer.Addr(), peer.Port()
	if p.Tunnel != decode.NoTunnel { // once per flow, and only for tunnelled ones
		f.Tunnel = p.Tunnel.String() + " " + p.TunnelSrc.String() + ">" + p.TunnelDst.String()
	}
	if n, q, ok := t.dns.lookup(f.Device, f.Peer, now); ok {
		f.DNSName, f.DNSQuery = n, q
	}
	t.flows[k] = idx
	t.lru.push(t.slab, idx)
	t.Stats.Flows++
	return f, idx
}

// deviceIsDst decides, when a flow is created by packet p from src to
// dst, which end is the device; true when it is dst. In order:
//
//  1. The inside end, when exactly one end is inside (Config.Local, or on
//     the captured link): nothing below applies then.
//  2. When neither end is inside: the capture's hub (hubs), an end that
//     has had at least 4 times as many distinct counterparts as the
//     other (and at least 4) and took part in more than half of the
//     capture's flows without an inside end. It is the capture's vantage
//     point, so it is the device of every flow it has, whoever opened the
//     connection: it overrides a handshake as well as the ports. At a
//     phone with a carrier's public address, the phone is the device even
//     of the connections push servers open to it; at a public server, the
//     server is the device of every flow, seen from its start or not,
//     rather than its clients of some flows and the server of others, and
//     the report says it looks like a server. A link of many clients and
//     many servers (a carrier's or an exchange's) has no address in half
//     of its flows, and the rule stays out of it; so has a capture of two
//     public hosts of about as many flows.
//  3. The handshake: the sender of a SYN (the initiator); the receiver of
//     a SYN-ACK seen first.
//  4. With no handshake (a TCP connection caught mid-stream, or UDP), the
//     ports: a packet from a likely server port (flowrec.LikelyServerPort)
//     to one that is not comes from the server, so the receiver is the
//     device.
//  5. The sender of the first packet.
//
// Rule 2 does not apply when both ends are inside: in a LAN capture the
// addresses with many counterparts are the LAN's own servers (its router,
// a NAS), and a flow between two devices stays with the one that began.
func (t *Tracker) deviceIsDst(p *decode.Packet, src, dst netip.AddrPort) bool {
	sl, dl := t.IsLocal(src.Addr()), t.IsLocal(dst.Addr())
	if sl != dl {
		return dl
	}
	if !sl {
		t.hubs.note(src.Addr(), dst.Addr())
		if h, ok := t.hubs.hub(src.Addr(), dst.Addr()); ok {
			return h == dst.Addr()
		}
	}
	if p.Proto == TCP && p.TCPFlags&decode.SYN != 0 {
		return p.TCPFlags&decode.ACK != 0
	}
	return flowrec.LikelyServerPort(src.Port()) && !flowrec.LikelyServerPort(dst.Port())
}

// learn extracts names from the payload while the flow still needs them.
func (t *Tracker) learn(f *entry, p *decode.Packet, out bool) {
	if len(p.Payload) != 0 && f.Signature == "" && f.PacketsOut+f.PacketsIn <= 4 {
		f.Signature = signature.Match(f.Proto == UDP, f.DevicePort, f.PeerPort, p.Payload)
	}
	if len(p.Payload) == 0 {
		if p.Proto == TCP && p.TCPFlags&decode.SYN != 0 {
			if out {
				f.cliSeq, f.cliNext = p.Seq+1, true
			} else {
				f.srvSeq, f.srvNext = p.Seq+1, true
			}
		}
		return
	}
	switch f.Proto {
	case TCP:
		if out {
			t.clientStream(f, p)
		} else {
			t.serverStream(f, p)
		}
	case UDP:
		if out && !f.helloDone {
			t.quicInitial(f, p.Payload)
		}
		if f.PeerPort == 853 && f.Hidden == NotHidden && out && quic.LooksLikeInitial(p.Payload) {
			f.Hidden = HiddenDoQ
		}
	}
}

func (t *Tracker) clientStream(f *entry, p *decode.Packet) {
	seq := p.Seq
	if !f.cliNext {
		f.cliSeq, f.cliNext = seq, true
	}
	if seq != f.cliSeq {
		if int32(seq-f.cliSeq) > 0 {
			// a gap: give up on reassembly of what is pending
			f.cliSeq = seq + uint32(len(p.Payload))
			f.hello, f.mqttMore = f.hello[:0], false
		}
		return
	}
	f.cliSeq += uint32(len(p.Payload))
	if f.helloDone && f.httpDone {
		switch {
		case f.plain:
			t.plainClient(f, p.Payload)
		case f.mqttMore:
			t.mqttConnect(f, p.Payload)
		}
		return
	}
	if !f.httpDone {
		data := p.Payload
		if len(f.hello) > 0 && f.helloDone {
			// an HTTP request head cut across segments, kept in the buffer
			if len(f.hello)+len(data) > httphost.MaxHead {
				f.httpDone, f.hello = true, f.hello[:0]
				return
			}
			f.hello = append(f.hello, data...)
			data = f.hello
		}
		r, err := httphost.Parse(data)
		switch {
		case err == nil:
			f.HTTPHost, f.httpDone, f.helloDone = r.Host, true, true
			f.hello = f.hello[:0]
			httpDNS(f, &r)
			return
		case errors.Is(err, httphost.ErrNeedMore):
			f.helloDone = true // an HTTP request is no TLS
			if len(f.hello) == 0 {
				f.hello = append(f.hello, data...)
			}
			return
		default:
			f.httpDone = true
			if errors.Is(err, httphost.ErrNoHost) {
				httpDNS(f, &r)
			}
			if f.helloDone {
				f.hello = f.hello[:0]
				return
			}
		}
	}
	if f.helloDone {
		return
	}
	data := p.Payload
	if len(f.hello) > 0 {
		if len(f.hello)+len(data) > tlshello.MaxClientHelloStream {
			f.helloDone = true
			f.hello = f.hello[:0]
			t.Stats.HellosTooLarge++
			return
		}
		f.hello = append(f.hello, data...)
		data = f.hello
	}
	h, _, err := tlshello.ParseClientHello(data)
	switch {
	case err == nil:
		f.helloDone = true
		t.hello(f, &h)
		if len(f.hello) > 0 {
			t.Stats.Reassembled++
		}
		f.hello = f.hello[:0]
	case errors.Is(err, tlshello.ErrNeedMore):
		if len(f.hello) == 0 {
			f.hello = append(f.hello, data...)
		}
	default:
		f.helloDone = true
		f.hello = f.hello[:0]
		switch {
		case !f.upgraded && f.httpDone && starttls.Plain(data):
			// SMTP, IMAP, POP3, FTP, XMPP...: watch for the command
			// that turns the session into TLS.
			f.plain = true
			t.plainClient(f, data)
		case f.PeerPort == mqtt.Port && f.Signature == "":
			t.mqttConnect(f, data)
		}
	}
}

// mqttConnect reads an MQTT CONNECT, across segments (in f.hello) up to
// mqtt.MaxConnect bytes. MQTT names no server: the flow says what it is,
// and nothing is attributed by it.
func (t *Tracker) mqttConnect(f *entry, data []byte) {
	buf := data
	if f.mqttMore {
		if len(f.hello)+len(data) > mqtt.MaxConnect {
			f.mqttMore, f.hello = false, f.hello[:0]
			return
		}
		f.hello = append(f.hello, data...)
		buf = f.hello
	}
	_, err := mqtt.ParseConnect(buf)
	switch {
	case err == nil:
		f.Signature = mqtt.Protocol
		t.Stats.MQTTConnects++
		f.mqttMore, f.hello = false, f.hello[:0]
	case errors.Is(err, mqtt.ErrNeedMore):
		if !f.mqttMore {
			f.hello = append(f.hello[:0], data...) // data may be hello itself: the copy is in place
			f.mqttMore = true
		}
	default:
		f.mqttMore, f.hello = false, f.hello[:0]
	}
}

// httpDNS keeps an HTTP-DNS query's method, path segment and name (one
// string per such flow, none for other requests).
func httpDNS(f *entry, r *httphost.Request) {
	if req, ok := httphost.DNSRequest(r.Method, r.Target); ok {
		f.HTTPDNS = req
	}
}

// plainClient watches a text protocol's client side for the command that
// switches it to TLS; after it, the client's next bytes are read as a
// ClientHello and the server's reply as its certificate, as on a TLS port.
func (t *Tracker) plainClient(f *entry, data []byte) {
	f.plainSeen += uint16(min(len(data), starttls.MaxPlain))
	if f.plainSeen > starttls.MaxPlain {
		f.plain = false
		return
	}
	if !f.xmppDone {
		t.xmppHeader(f, data)
	}
	if starttls.Upgrade(data) {
		f.plain, f.upgraded = false, true
		f.helloDone, f.certDone = false, false
		f.hello, f.cert = f.hello[:0], f.cert[:0]
		t.Stats.STARTTLS++
	}
}

// xmppHeader reads the domain an XMPP client names in its stream header,
// across segments (in f.hello, free while the session is plaintext) up to
// xmpp.MaxHeader bytes. Any other text protocol is let go at its first
// bytes.
func (t *Tracker) xmppHeader(f *entry, data []byte) {
	buf := data
	if len(f.hello) > 0 {
		if len(f.hello)+len(data) > xmpp.MaxHeader {
			f.xmppDone, f.hello = true, f.hello[:0]
			return
		}
		f.hello = append(f.hello, data...)
		buf = f.hello
	}
	to, err := xmpp.StreamTo(buf)
	switch {
	case err == nil:
		f.XMPPTo = strings.ToLower(t.intern(to)) // push clients reconnect to one domain all day
		f.xmppDone, f.hello = true, f.hello[:0]
		t.Stats.XMPPHeaders++
	case errors.Is(err, xmpp.ErrNeedMore):
		if len(f.hello) == 0 {
			f.hello = append(f.hello, data...)
		}
	default:
		f.xmppDone, f.hello = true, f.hello[:0]
	}
}

func (t *Tracker) hello(f *entry, h *tlshello.ClientHello) {
	f.SNI = h.SNI
	if h.SNI != "" && !h.ECH {
		t.peers.add(f.Peer, h.SNI, "")
	}
	if alpn := h.ALPN(); len(alpn) > 0 {
		f.ALPN = alpn[0]
	}
	switch {
	case h.ECH:
		f.Hidden = HiddenECH
	case h.ESNI:
		f.Hidden = HiddenESNI
	case f.PeerPort == 853:
		f.Hidden = HiddenDoT
	case isDoHName(h.SNI):
		f.Hidden = HiddenDoH
	}
	// Only TLS 1.2 shows the certificate; a client offering 1.3 may still
	// get 1.2, so keep looking at the server's flight either way.
}

func (t *Tracker) serverStream(f *entry, p *decode.Packet) {
	if f.certDone {
		return
	}
	seq := p.Seq
	if !f.srvNext {
		f.srvSeq, f.srvNext = seq, true
	}
	// The server's stream is followed from the start (a text protocol's
	// banner and replies come before any TLS), and collected only once
	// the client's hello has been read.
	collecting := f.helloDone && !f.plain && (f.SNI != "" || f.HTTPHost == "")
	if seq != f.srvSeq {
		if int32(seq-f.srvSeq) > 0 {
			if collecting {
				t.certDone(f)
			} else {
				f.srvSeq = seq + uint32(len(p.Payload))
			}
		}
		return
	}
	f.srvSeq += uint32(len(p.Payload))
	if !collecting {
		return
	}
	if len(f.cert)+len(p.Payload) > tlshello.MaxCertificateStream {
		t.certDone(f)
		return
	}
	if f.cert == nil {
		if n := len(t.certBufs); n > 0 {
			f.cert, t.certBufs[n-1] = t.certBufs[n-1], nil
			t.certBufs = t.certBufs[:n-1]
		}
	}
	f.cert = append(f.cert, p.Payload...)
	c, _, err := t.certs.ParseServerCertificate(f.cert)
	switch {
	case err == nil:
		t.certDone(f)
		if len(c.Organization) > 0 {
			f.CertOrg = c.Organization[0]
		}
		f.CertCN = c.CommonName
		t.peers.add(f.Peer, "", f.CertOrg)
	case errors.Is(err, tlshello.ErrNeedMore):
	default:
		t.certDone(f)
	}
}

// maxCertBufs bounds the buffers kept for flows to come, and
// maxCertBuf each one's size.
const maxCertBufs, maxCertBuf = 256, 16 << 10

// certDone ends f's collection of the server's certificate, and keeps
// its buffer for the next flow's.
func (t *Tracker) certDone(f *entry) {
	f.certDone = true
	if c := cap(f.cert); c > 0 && c <= maxCertBuf && len(t.certBufs) < maxCertBufs {
		t.certBufs = append(t.certBufs, f.cert[:0])
	}
	f.cert = nil
}

func (t *Tracker) quicInitial(f *entry, payload []byte) {
	if f.quic == nil {
		if !quic.LooksLikeInitial(payload) {
			f.helloDone = true
			if f.PeerPort == 443 || f.PeerPort == 80 {
				// Google QUIC (until 2020) sends its hello in the clear.
				if sni, _, err := quic.GoogleCHLO(payload); err == nil && sni != "" {
					f.QUICSNI = sni
					t.peers.add(f.Peer, sni, "")
				}
			}
			return
		}
		f.quic = t.qpool.get()
	}
	err := f.quic.Add(payload)
	f.quicTries++
	switch {
	case err == nil && f.quic.Done():
		info := f.quic.Info()
		f.QUICSNI = info.Hello.SNI
		if f.QUICSNI != "" && !info.Hello.ECH {
			t.peers.add(f.Peer, f.QUICSNI, "")
		}
		if alpn := info.Hello.ALPN(); len(alpn) > 0 {
			f.ALPN = alpn[0]
		}
		if info.Hello.ECH {
			f.Hidden = HiddenECH
		} else if isDoHName(f.QUICSNI) {
			f.Hidden = HiddenDoH
		}
		t.dropQUIC(f)
	case errors.Is(err, quic.ErrNeedMore) && f.quicTries < 8:
	case errors.Is(err, quic.ErrGoogleQUIC):
		if sni, _, err := quic.GoogleCHLO(payload); err == nil && sni != "" {
			f.QUICSNI = sni
			t.peers.add(f.Peer, sni, "")
		}
		t.dropQUIC(f)
	default:
		t.dropQUIC(f)
	}
}

func (t *Tracker) dropQUIC(f *entry) {
	f.helloDone = true
	if f.quic != nil {
		t.qpool.put(f.quic)
		f.quic = nil
	}
}

// fragment accounts a non-first fragment to its datagram's flow. It
// returns true when the packet is fully handled; for a first fragment, the
// bytes and packets of fragments that came before it.
func (t *Tracker) fragment(p *decode.Packet, bytes, pkts uint64, now int64) (bool, uint64, uint64) {
	t.Stats.Fragments++
	fk := fragKey{p.Src, p.Dst, p.FragID, uint8(p.Proto)}
	e := t.frags[fk]
	e.seen = now
	if p.FragOffset == 0 {
		// The first fragment carries the ports: handled as a packet, and
		// fragments that came before it are added to its flow.
		src := netip.AddrPortFrom(p.Src, p.SrcPort)
		dst := netip.AddrPortFrom(p.Dst, p.DstPort)
		e.key, _ = makeKey(src, dst, uint8(p.Proto))
		e.hasKey = true
		pending, pk := e.pending, e.pendPk
		e.pending, e.pendPk = 0, 0
		t.frags[fk] = e
		return false, pending, pk
	}
	if len(t.frags) > 65536 {
		t.expireFrags(now)
	}
	if e.hasKey {
		t.addTo(e.key, p.Src, bytes, pkts)
	} else {
		e.pending += bytes
		e.pendPk += pkts
	}
	t.frags[fk] = e
	return true, 0, 0
}

func (t *Tracker) addTo(k Key, src netip.Addr, bytes, pkts uint64) {
	idx, ok := t.flows[k]
	if !ok {
		t.Stats.FragOrphans++
		return
	}
	f := &t.slab[idx]
	if f.Device == src {
		f.BytesOut += bytes
		f.PacketsOut += pkts
	} else {
		f.BytesIn += bytes
		f.PacketsIn += pkts
	}
}

func (t *Tracker) expireFrags(now int64) {
	for k, e := range t.frags {
		if now-e.seen > int64(30*time.Second) {
			if !e.hasKey {
				t.Stats.FragOrphans++
			}
			delete(t.frags, k)
		}
	}
}

// expire hands idle flows to the sink. The LRU is ordered by last
// activity; timeouts differ by state, so it walks past flows that are old
// but not yet idle long enough for their state.
func (t *Tracker) expire(now int64) {
	for idx := t.lru.head; idx >= 0; {
		f := &t.slab[idx]
		next := f.next
		age := now - f.Last
		if age <= int64(t.cfg.ClosedIdle) {
			break
		}
		limit := t.cfg.UDPIdle
		if f.Proto == TCP {
			limit = t.cfg.TCPIdle
			if f.fin > 0 {
				limit = t.cfg.ClosedIdle
			}
		}
		if age > int64(limit) {
			t.finish(idx)
		}
		idx = next
	}
	t.expireFrags(now)
	t.dns.expire(now)
}

func (t *Tracker) finish(idx int32) {
	f := &t.slab[idx]
	if f.DNSName == "" {
		// the answer may have come after the first packet
		if n, q, ok := t.dns.lookup(f.Device, f.Peer, f.Last); ok {
			f.DNSName, f.DNSQuery = n, q
		}
	}
	t.dropQUIC(f)
	if f.SNI == "" && f.QUICSNI == "" && f.HTTPHost == "" && f.XMPPTo == "" && f.DNSName == "" {
		f.PeerName, f.CertOrg = t.peers.lookup(f.Peer)
	}
	if f.Hidden == NotHidden && f.PeerPort == 443 && f.SNI == "" && f.QUICSNI == "" && dohAddrs[f.Peer] {
		f.Hidden = HiddenDoH
	}
	k, _ := makeKey(netip.AddrPortFrom(f.Device, f.DevicePort), netip.AddrPortFrom(f.Peer, f.PeerPort), f.Proto)
	t.lru.remove(t.slab, idx)
	delete(t.flows, k)
	if f.HasMAC {
		t.devs.mac(f.Device, f.DeviceMAC)
	}
	if t.sink != nil {
		t.sink(f.out())
	}
	if cap(f.hello) > 4096 {
		f.hello = nil
	}
	if cap(f.cert) > 4096 {
		f.cert = nil
	}
	t.free = append(t.free, idx)
}

// Flush hands every remaining flow to the sink (end of input).
func (t *Tracker) Flush() {
	for {
		idx := t.lru.oldest()
		if idx < 0 {
			return
		}
		t.finish(idx)
	}
}

// LearnDNS remembers a DNS answer a log source (Zeek, Suricata) reported:
// client resolved name (asked as query) to addr, valid ttl seconds from at.
func (t *Tracker) LearnDNS(client, addr netip.Addr, name, query string, ttl uint32, at time.Time) {
	t.dns.logs = true
	t.dns.add(client, addr.Unmap(), t.intern([]byte(name)), t.intern([]byte(query)), ttl, at.UnixNano())
	t.Stats.DNSAnswers++
}

// DNSName is the name client last resolved to addr, as of at.
func (t *Tracker) DNSName(client, addr netip.Addr, at time.Time) (name, query string) {
	name, query, _ = t.dns.lookup(client, addr.Unmap(), at.UnixNano())
	return name, query
}

// Active is the number of flows in the table.
func (t *Tracker) Active() int { return len(t.flows) }

var dohNames = map[string]bool{
	"dns.google": true, "dns.google.com": true, "cloudflare-dns.com": true, "mozilla.cloudflare-dns.com": true,
	"one.one.one.one": true, "1dot1dot1dot1.cloudflare-dns.com": true, "chrome.cloudflare-dns.com": true,
	"dns.quad9.net": true, "dns9.quad9.net": true, "dns10.quad9.net": true, "dns11.quad9.net": true,
	"doh.opendns.com": true, "doh.cleanbrowsing.org": true, "dns.adguard.com": true, "dns.adguard-dns.com": true,
	"dns.nextdns.io": true, "doh.dns.sb": true, "dns.alidns.com": true, "doh.pub": true, "dns.pub": true,
	"doh.360.cn": true, "dns.twnic.tw": true, "doh.mullvad.net": true, "dns.controld.com": true,
}

// dohAddrs are the anycast addresses of public DNS-over-HTTPS resolvers:
// HTTPS to them without a visible name is taken as DoH.
var dohAddrs = func() map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for _, a := range []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9", "149.112.112.112", "94.140.14.14",
		"2606:4700:4700::1111", "2606:4700:4700::1001", "2001:4860:4860::8888", "2001:4860:4860::8844", "2620:fe::fe"} {
		m[netip.MustParseAddr(a)] = true
	}
	return m
}()

// isDoHName reports well-known DNS-over-HTTPS endpoints.
func isDoHName(n string) bool { return dohNames[n] }
