package demo

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Well-known addresses of the scene.
var (
	ipZero      = netip.AddrFrom4([4]byte{0, 0, 0, 0})
	ipBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	ipMDNS      = netip.AddrFrom4([4]byte{224, 0, 0, 251})
	ipSSDP      = netip.AddrFrom4([4]byte{239, 255, 255, 250})
)

// outHdr is the IPv4 header of a packet the script's device sends.
func (s *script) outHdr(dst netip.Addr, df bool) ipHdr {
	s.dev.ipid++
	return ipHdr{src: s.dev.ip, dst: dst, id: s.dev.ipid, ttl: s.dev.ttl, df: df}
}

// routerHdr is the IPv4 header of a packet the router itself sends.
func (s *script) routerHdr(dst netip.Addr) ipHdr {
	return ipHdr{src: s.g.router.ip, dst: dst, id: uint16(s.rng.Uint32()), ttl: 64}
}

// udp emits one UDP frame.
func (s *script) udp(dstMAC, srcMAC mac, h ipHdr, sport, dport uint16, payload []byte, acct *Counts) {
	s.buf = appendEth(s.buf[:0], dstMAC, srcMAC, etherIPv4)
	s.buf = appendUDP(s.buf, h, sport, dport, payload)
	s.emit(acct)
}

// udpOut and udpIn emit a datagram between the device and an internet
// address, through the router.
func (s *script) udpOut(remote netip.Addr, sport, dport uint16, payload []byte, acct *Counts) {
	s.udp(s.g.router.mac, s.dev.mac, s.outHdr(remote, false), sport, dport, payload, acct)
}

func (s *script) udpIn(remote netip.Addr, ttl byte, sport, dport uint16, payload []byte, acct *Counts) {
	h := ipHdr{src: remote, dst: s.dev.ip, id: uint16(s.rng.Uint32()), ttl: ttl}
	s.udp(s.dev.mac, s.g.router.mac, h, sport, dport, payload, acct)
}

// arpGateway has the device ask for the gateway's MAC and the router
// answer.
func (s *script) arpGateway() {
	r := s.g.router
	s.buf = appendEth(s.buf[:0], broadcastMAC, s.dev.mac, etherARP)
	s.buf = appendARP(s.buf, false, s.dev.mac, s.dev.ip, mac{}, r.ip)
	s.emit(nil)
	s.waitUS(300, 2000)
	s.buf = appendEth(s.buf[:0], s.dev.mac, r.mac, etherARP)
	s.buf = appendARP(s.buf, true, r.mac, r.ip, s.dev.mac, s.dev.ip)
	s.emit(nil)
	s.waitUS(500, 3000)
}

// DNS record helpers.
func rrA(name string, ip netip.Addr, ttl uint32) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip.AsSlice()}
}

func rrCNAME(name, target string, ttl uint32) dns.RR {
	return &dns.CNAME{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: dns.Fqdn(target)}
}

// resolve has the device ask the resolver (the router) for name's A
// records and get answers back. It returns the last A record's address.
func (s *script) resolve(name string, answers ...dns.RR) netip.Addr {
	r := s.g.router
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	q.Id = uint16(s.rng.Uint32())
	resp := new(dns.Msg)
	resp.SetReply(q)
	resp.RecursionAvailable = true
	resp.Compress = true
	resp.Answer = answers
	qb, err := q.Pack()
	if err != nil {
		s.fail(fmt.Errorf("DNS query for %s: %w", name, err))
		return netip.Addr{}
	}
	rb, err := resp.Pack()
	if err != nil {
		s.fail(fmt.Errorf("DNS answer for %s: %w", name, err))
		return netip.Addr{}
	}
	sport := s.port()
	s.udp(r.mac, s.dev.mac, s.outHdr(r.ip, false), sport, 53, qb, nil)
	s.waitUS(2000, 35000)
	s.udp(s.dev.mac, r.mac, s.routerHdr(s.dev.ip), 53, sport, rb, nil)
	s.waitUS(300, 1500)
	var ip netip.Addr
	for _, rr := range answers {
		if a, ok := rr.(*dns.A); ok {
			ip, _ = netip.AddrFromSlice(a.A.To4())
		}
	}
	return ip
}

// dhcp runs a DISCOVER, OFFER, REQUEST, ACK exchange that gives the device
// its address and tells the network its hostname (option 12).
func (s *script) dhcp() {
	r := s.g.router
	d := s.dev
	xid := s.rng.Uint32()
	clientID := append([]byte{1}, d.mac[:]...)
	params := []byte{1, 3, 6, 15, 28, 42, 119}
	rip := r.ip.As4()
	mask := []byte{255, 255, 255, 0}
	var lease [4]byte
	binary.BigEndian.PutUint32(lease[:], 86400)

	discover := dhcpMsg(1, xid, d.mac, ipZero, ipZero, ipZero, dhcpOpts(
		dhcpOpt{53, []byte{1}}, dhcpOpt{61, clientID}, dhcpOpt{12, []byte(d.name)}, dhcpOpt{55, params}))
	s.udp(broadcastMAC, d.mac, ipHdr{src: ipZero, dst: ipBroadcast, ttl: 64}, 68, 67, discover, nil)
	s.waitUS(1000, 5000)
	serverOpts := func(typ byte) []byte {
		return dhcpOpts(dhcpOpt{53, []byte{typ}}, dhcpOpt{54, rip[:]}, dhcpOpt{51, lease[:]}, dhcpOpt{1, mask},
			dhcpOpt{3, rip[:]}, dhcpOpt{6, rip[:]}, dhcpOpt{15, []byte("office.lan")})
	}
	offer := dhcpMsg(2, xid, d.mac, ipZero, d.ip, r.ip, serverOpts(2))
	s.udp(d.mac, r.mac, s.routerHdr(d.ip), 67, 68, offer, nil)
	s.waitUS(1000, 5000)
	want := d.ip.As4()
	request := dhcpMsg(1, xid, d.mac, ipZero, ipZero, ipZero, dhcpOpts(
		dhcpOpt{53, []byte{3}}, dhcpOpt{61, clientID}, dhcpOpt{50, want[:]}, dhcpOpt{54, rip[:]},
		dhcpOpt{12, []byte(d.name)}, dhcpOpt{55, params}))
	s.udp(broadcastMAC, d.mac, ipHdr{src: ipZero, dst: ipBroadcast, ttl: 64}, 68, 67, request, nil)
	s.waitUS(1000, 5000)
	ack := dhcpMsg(2, xid, d.mac, ipZero, d.ip, r.ip, serverOpts(5))
	s.udp(d.mac, r.mac, s.routerHdr(d.ip), 67, 68, ack, nil)
	s.waitUS(5000, 20000)
}

// dhcpOpt is one DHCP option.
type dhcpOpt struct {
	code byte
	val  []byte
}

// dhcpOpts encodes options, then the end option.
func dhcpOpts(opts ...dhcpOpt) []byte {
	var b []byte
	for _, o := range opts {
		b = append(b, o.code, byte(len(o.val)))
		b = append(b, o.val...)
	}
	return append(b, 255)
}

// dhcpMsg builds a BOOTP message (RFC 2131) with the DHCP magic cookie.
func dhcpMsg(op byte, xid uint32, chaddr mac, ciaddr, yiaddr, siaddr netip.Addr, opts []byte) []byte {
	b := []byte{op, 1, 6, 0}
	b = binary.BigEndian.AppendUint32(b, xid)
	b = append(b, 0, 0, 0, 0) // secs, flags
	for _, a := range []netip.Addr{ciaddr, yiaddr, siaddr, ipZero} {
		a4 := a.As4()
		b = append(b, a4[:]...)
	}
	b = append(b, chaddr[:]...)
	b = append(b, make([]byte, 10+64+128)...) // chaddr padding, sname, file
	b = append(b, 99, 130, 83, 99)
	return append(b, opts...)
}

// mdnsAnnounce multicasts the device's name.local A record (cache-flush
// bit set), as phones and laptops do when they join a network.
func (s *script) mdnsAnnounce() {
	m := new(dns.Msg)
	m.Response = true
	m.Authoritative = true
	m.Answer = []dns.RR{&dns.A{
		Hdr: dns.RR_Header{Name: s.dev.name + ".local.", Rrtype: dns.TypeA, Class: dns.ClassINET | 1<<15, Ttl: 120},
		A:   s.dev.ip.AsSlice(),
	}}
	b, err := m.Pack()
	if err != nil {
		s.fail(fmt.Errorf("mDNS announcement of %s: %w", s.dev.name, err))
		return
	}
	for i := 0; i < 2; i++ { // announced twice, a second apart (RFC 6762 section 8.3)
		h := s.outHdr(ipMDNS, false)
		h.ttl = 255
		s.udp(mdnsMAC, s.dev.mac, h, 5353, 5353, b, nil)
		s.wait(time.Second)
	}
}

// ssdpSearch multicasts an M-SEARCH and gets the router's answer.
func (s *script) ssdpSearch() {
	r := s.g.router
	sport := s.port()
	msg := "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:dial-multiscreen-org:service:dial:1\r\nUSER-AGENT: Chromium/128.0 Windows\r\n\r\n"
	h := s.outHdr(ipSSDP, false)
	h.ttl = 4
	s.udp(ssdpMAC, s.dev.mac, h, sport, 1900, []byte(msg), nil)
	s.waitUS(20000, 200000)
	reply := "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: http://192.168.50.1:5000/rootDesc.xml\r\nSERVER: Linux/5.4 UPnP/1.1 MiniUPnPd/2.3\r\nST: upnp:rootdevice\r\nUSN: uuid:5f1c2a8e-0b7d-4a51-9d57-3c6a1e0d9b11::upnp:rootdevice\r\n\r\n"
	s.udp(s.dev.mac, r.mac, s.routerHdr(s.dev.ip), 1900, sport, []byte(reply), nil)
}

// ssdpNotify multicasts an alive announcement for a printer.
func (s *script) ssdpNotify() {
	msg := "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://" + s.dev.ip.String() + ":80/description.xml\r\nNT: urn:schemas-upnp-org:device:Printer:1\r\nNTS: ssdp:alive\r\nSERVER: Xerox_Embedded_Web_Server UPnP/1.0\r\nUSN: uuid:2b8e9a40-11c3-4e77-8a2f-08003700a1b2::urn:schemas-upnp-org:device:Printer:1\r\n\r\n"
	h := s.outHdr(ipSSDP, false)
	h.ttl = 4
	s.udp(ssdpMAC, s.dev.mac, h, 1900, 1900, []byte(msg), nil)
}

// ntp has the device ask an NTP server for the time (one SNTP exchange,
// from an ephemeral port as SNTP clients do).
func (s *script) ntp(server netip.Addr, sport uint16, acct *Counts) {
	req := make([]byte, 48)
	req[0] = 0x23 // version 4, client
	putNTPTime(req[40:], s.now)
	s.udpOut(server, sport, 123, req, acct)
	s.waitUS(8000, 40000)
	resp := make([]byte, 48)
	resp[0] = 0x24 // version 4, server
	resp[1] = 1    // stratum 1
	resp[2] = 3
	resp[3] = 0xe9 // precision 2^-23
	copy(resp[12:16], "GOOG")
	putNTPTime(resp[16:], s.now.Add(-16*time.Second))
	copy(resp[24:32], req[40:48])
	putNTPTime(resp[32:], s.now.Add(-5*time.Millisecond))
	putNTPTime(resp[40:], s.now.Add(-5*time.Millisecond+20*time.Microsecond))
	s.udpIn(server, 57, 123, sport, resp, acct)
	s.waitUS(1000, 3000)
}

// putNTPTime writes t as a 64-bit NTP timestamp.
func putNTPTime(b []byte, t time.Time) {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint32(b, uint32(secs))
	binary.BigEndian.PutUint32(b[4:], uint32(frac))
}
