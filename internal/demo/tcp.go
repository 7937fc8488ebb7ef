package demo

import (
	"net/netip"
	"time"
)

// tcpConn is one TCP connection from the script's device to an internet
// server, seen at the gateway.
type tcpConn struct {
	s            *script
	remote       netip.Addr
	sport, dport uint16
	cseq, sseq   uint32 // next sequence number of client and server
	rtt          time.Duration
	sttl         byte
	acct         *Counts
}

// dial opens a connection with the three-way handshake; the caller has
// already counted the flow in acct.
func (s *script) dial(remote netip.Addr, dport uint16, acct *Counts) *tcpConn {
	c := &tcpConn{
		s: s, remote: remote, sport: s.port(), dport: dport,
		cseq: s.rng.Uint32(), sseq: s.rng.Uint32(),
		rtt:  time.Duration(12+s.rng.IntN(70)) * time.Millisecond,
		sttl: byte(48 + s.rng.IntN(12)),
		acct: acct,
	}
	c.seg(true, tcpSYN, nil)
	s.wait(c.rtt)
	c.seg(false, tcpSYN|tcpACK, nil)
	s.waitUS(100, 600)
	c.seg(true, tcpACK, nil)
	s.waitUS(100, 900)
	return c
}

// seg emits one segment in the given direction and advances that side's
// sequence number.
func (c *tcpConn) seg(fromClient bool, flags byte, payload []byte) {
	s := c.s
	t := tcpSeg{flags: flags, syn: flags&tcpSYN != 0}
	var h ipHdr
	dst, src := s.g.router.mac, s.dev.mac
	if fromClient {
		h = s.outHdr(c.remote, true)
		t.sport, t.dport, t.seq, t.ack = c.sport, c.dport, c.cseq, c.sseq
		t.window = 502
		if t.syn {
			t.window = 64240
		}
	} else {
		h = ipHdr{src: c.remote, dst: s.dev.ip, id: uint16(s.rng.Uint32()), ttl: c.sttl, df: true}
		dst, src = src, dst
		t.sport, t.dport, t.seq, t.ack = c.dport, c.sport, c.sseq, c.cseq
		t.window = 501
		if t.syn {
			t.window = 65535
		}
	}
	if flags&tcpACK == 0 {
		t.ack = 0
	}
	s.buf = appendEth(s.buf[:0], dst, src, etherIPv4)
	s.buf = appendTCP(s.buf, h, t, payload)
	s.emit(c.acct)
	n := uint32(len(payload))
	if flags&(tcpSYN|tcpFIN) != 0 {
		n++
	}
	if fromClient {
		c.cseq += n
	} else {
		c.sseq += n
	}
}

// send transfers data in one direction in MSS-sized segments, the last
// with PSH; the receiver acknowledges every second segment and the end.
// cuts, when given, are the sizes of the first segments (to split a
// ClientHello, say).
func (c *tcpConn) send(fromClient bool, data []byte, cuts ...int) {
	s := c.s
	n := 0
	for len(data) > 0 {
		size := min(len(data), mss)
		if len(cuts) > 0 {
			size = min(len(data), cuts[0])
			cuts = cuts[1:]
		}
		flags := byte(tcpACK)
		if size == len(data) {
			flags |= tcpPSH
		}
		c.seg(fromClient, flags, data[:size])
		data = data[size:]
		n++
		if n%2 == 0 || len(data) == 0 {
			s.waitUS(40, 400)
			c.seg(!fromClient, tcpACK, nil)
		}
		s.waitUS(20, 150) // about 100 Mbit/s
	}
}

// close tears the connection down: client FIN, server FIN, last ACK.
func (c *tcpConn) close() {
	s := c.s
	c.seg(true, tcpFIN|tcpACK, nil)
	s.wait(c.rtt)
	c.seg(false, tcpFIN|tcpACK, nil)
	s.waitUS(100, 600)
	c.seg(true, tcpACK, nil)
	s.waitUS(200, 2000)
}

// think waits between a response and the next request, as an application
// does.
func (c *tcpConn) think() {
	c.s.waitUS(50000, 2500000)
}

// idle is the pause between two things a device does.
func (s *script) idle() {
	s.waitUS(500000, 6000000)
}
