package resolver

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

const (
	streamRead  = 5 * time.Second // to read a query once its length has come
	streamWrite = 5 * time.Second
)

// bufPool holds answer buffers for the miss and DoH paths. They start at
// 4 KB, the most a UDP answer usually is; a larger answer grows its buffer,
// which then goes back to the garbage collector, not to the pool: the pool
// keeps no 64 KB buffer alive for the one long TCP answer.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, poolBufSize); return &b }}

const poolBufSize = 4096

func putBuf(bp *[]byte, used []byte) {
	if used == nil {
		used = *bp
	}
	if cap(used) > poolBufSize {
		return
	}
	*bp = used[:0]
	bufPool.Put(bp)
}

func (s *Server) listenUDP(addr string, workers int) error {
	// One socket a worker with SO_REUSEPORT where the system has it: the
	// kernel spreads datagrams over the sockets, and the workers do not
	// contend for one receive queue. Elsewhere the workers share one.
	lc := net.ListenConfig{Control: reusePort}
	pc, err := lc.ListenPacket(s.ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	conn := pc.(*net.UDPConn)
	s.addAddr("udp", conn.LocalAddr())
	conns := []*net.UDPConn{conn}
	for i := 1; i < workers && reusePort != nil; i++ {
		pc, err := lc.ListenPacket(s.ctx, "udp", conn.LocalAddr().String())
		if err != nil {
			break // keep the sockets we have; their workers share them
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	if udpDropsSupported {
		for _, c := range conns {
			// Detaching duplicates the descriptor: the socket, and its
			// inode, stay the same.
			if rc, err := c.SyscallConn(); err == nil {
				if ino, err := socketInode(rc); err == nil {
					s.drops.add(ino)
				}
			}
		}
	}
	if s.cfg.Listen.Batch && mmsgSupported {
		socks := make([]*udpSock, 0, len(conns))
		for i, c := range conns {
			sock, err := detachUDP(c)
			if err != nil {
				for _, o := range socks {
					o.Close()
				}
				for _, o := range conns[i:] {
					o.Close() // c too, if it was not detached
				}
				return fmt.Errorf("listen udp %s: %w", addr, err)
			}
			socks = append(socks, sock)
		}
		startUDP(s, socks, workers, s.serveUDPBatch)
		return nil
	}
	startUDP(s, conns, workers, s.serveUDP)
	return nil
}

// startUDP registers the sockets' closers and starts workers over them,
// round robin.
func startUDP[C interface{ Close() error }](s *Server, socks []C, workers int, serve func(C)) {
	s.mu.Lock()
	for _, c := range socks {
		s.closers = append(s.closers, c.Close)
	}
	s.mu.Unlock()
	for i := 0; i < workers; i++ {
		c := socks[i%len(socks)]
		s.goServe(func() { serve(c) }, nil)
	}
}

// serveUDP reads and answers queries on one socket. Cache hits and blocked
// names are answered in the reader without allocating; misses continue in
// a goroutine of their own, bounded by Listen.MaxPending.
func (s *Server) serveUDP(conn *net.UDPConn) {
	buf := make([]byte, 65536)
	out := make([]byte, 0, 65536)
	for {
		n, ap, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			continue
		}
		x := s.getExchange()
		x.cl = client{addr: clientAddr(ap), proto: "udp", udp: true}
		resp, done := s.begin(x, buf[:n], out[:0])
		if !done {
			select {
			case s.pending <- struct{}{}:
				x.own()
				go s.completeUDP(conn, ap, x)
				continue
			default:
				s.met.overload.Inc()
				resp = s.finish(x, wire.AppendError(out[:0], &x.q, x.req, wire.RcodeServFail), 0)
			}
		}
		if resp != nil {
			conn.WriteToUDPAddrPort(resp, ap)
		}
		s.putExchange(x)
	}
}

// clientAddr is the address policy groups see: IPv4 as IPv4, without an
// IPv6 zone (prefixes never contain zoned addresses).
func clientAddr(ap netip.AddrPort) netip.Addr { return ap.Addr().WithZone("").Unmap() }

// udpWriter sends an answer from the socket the query came in on.
type udpWriter interface {
	WriteToUDPAddrPort(b []byte, ap netip.AddrPort) (int, error)
}

func (s *Server) completeUDP(conn udpWriter, ap netip.AddrPort, x *exchange) {
	defer func() { <-s.pending }()
	bp := bufPool.Get().(*[]byte)
	resp := s.complete(s.ctx, x, (*bp)[:0])
	if resp != nil {
		conn.WriteToUDPAddrPort(resp, ap)
	}
	putBuf(bp, resp)
	s.putExchange(x)
}

// serveStream accepts TCP or DoT connections.
func (s *Server) serveStream(l net.Listener, proto string) {
	s.addAddr(proto, l.Addr())
	s.goServe(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
					return
				}
				time.Sleep(10 * time.Millisecond) // out of file descriptors: let it pass
				continue
			}
			sc, ok := s.streams.admit(c, time.Now())
			if !ok {
				c.Close()
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.streams.release(sc)
				s.serveConn(sc, proto)
			}()
		}
	}, l.Close)
}

// serveConn answers length-prefixed queries (RFC 7766) one after another,
// closing the connection when it has been idle for the table's timeout.
func (s *Server) serveConn(sc *streamConn, proto string) {
	c := sc.Conn
	defer c.Close()
	stop := context.AfterFunc(s.ctx, func() { c.Close() })
	defer stop()
	var name string
	if tc, ok := c.(*tls.Conn); ok {
		s.streams.wait(sc, time.Now()) // the handshake counts as idle
		if err := tc.Handshake(); err != nil {
			return
		}
		name = strings.ToLower(tc.ConnectionState().ServerName)
	}
	var addr netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr = ta.AddrPort().Addr().Unmap()
	}
	br := bufio.NewReaderSize(c, 4096)
	// Buffers start small and grow to the largest message the
	// connection has seen: a thousand idle connections do not hold 128 MB.
	req := make([]byte, 512)
	out := make([]byte, 0, 1024)
	var lenBuf [2]byte
	for {
		s.streams.wait(sc, time.Now())
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return
		}
		sc.busy(time.Now())
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if n > len(req) {
			req = make([]byte, n)
		}
		if _, err := io.ReadFull(br, req[:n]); err != nil {
			return
		}
		x := s.getExchange()
		x.cl = client{addr: addr, proto: proto, name: name}
		dst := append(out[:0], 0, 0)
		resp, done := s.begin(x, req[:n], dst)
		if !done {
			resp = s.complete(s.ctx, x, dst)
		}
		s.putExchange(x)
		if resp == nil {
			return // not DNS: hang up
		}
		out = resp[:0]
		binary.BigEndian.PutUint16(resp, uint16(len(resp)-2))
		c.SetWriteDeadline(time.Now().Add(streamWrite))
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// listenHTTPS serves DNS over HTTPS (RFC 8484).
func (s *Server) listenHTTPS(h HTTPSListener) error {
	l, err := net.Listen("tcp", h.Addr)
	if err != nil {
		return fmt.Errorf("listen https %s: %w", h.Addr, err)
	}
	s.addAddr("doh", l.Addr())
	paths := h.Paths
	if len(paths) == 0 {
		paths = []string{"/dns-query"}
	}
	srv := &http.Server{Handler: s.dohHandler(paths), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second,
		ErrorLog: nil}
	if h.Cert != "" {
		conf, err := tlsConfig(h.Cert, h.Key)
		if err != nil {
			l.Close()
			return fmt.Errorf("listen https %s: %w", h.Addr, err)
		}
		conf.NextProtos = []string{"h2", "http/1.1"}
		srv.TLSConfig = conf
		s.goServe(func() { srv.ServeTLS(l, "", "") }, srv.Close)
		return nil
	}
	s.goServe(func() { srv.Serve(l) }, srv.Close)
	return nil
}

func (s *Server) dohHandler(paths []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		for _, p := range paths {
			if r.URL.Path == p || strings.HasPrefix(r.URL.Path, strings.TrimSuffix(p, "/")+"/") {
				ok = true
				break
			}
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		var req []byte
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query().Get("dns")
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(q, "="))
			if err != nil || len(b) == 0 {
				http.Error(w, "dns parameter is not base64url", http.StatusBadRequest)
				return
			}
			req = b
		case http.MethodPost:
			if ct := r.Header.Get("Content-Type"); ct != "application/dns-message" {
				http.Error(w, "Content-Type must be application/dns-message", http.StatusUnsupportedMediaType)
				return
			}
			b, err := io.ReadAll(io.LimitReader(r.Body, 65536))
			if err != nil || len(b) > 65535 {
				http.Error(w, "body too large or unreadable", http.StatusBadRequest)
				return
			}
			req = b
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		x := s.getExchange()
		defer s.putExchange(x)
		x.cl = client{proto: "doh", dohPath: r.URL.Path}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			x.cl.addr = ap.Addr().Unmap()
		}
		if r.TLS != nil {
			x.cl.name = strings.ToLower(r.TLS.ServerName)
		}
		bp := bufPool.Get().(*[]byte)
		resp, done := s.begin(x, req, (*bp)[:0])
		defer func() { putBuf(bp, resp) }()
		if !done {
			resp = s.complete(r.Context(), x, (*bp)[:0])
		}
		if resp == nil {
			http.Error(w, "not a DNS query", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(resp)
	})
}
