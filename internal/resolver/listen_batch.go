package resolver

import (
	"errors"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves.
const batchSize = 32

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type v6batch struct{ *ipv6.PacketConn }

func (c v6batch) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.ReadBatch(ms, flags)
}

func (c v6batch) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.WriteBatch(ms, flags)
}

// serveUDPBatch is serveUDP with recvmmsg and sendmmsg (Linux): up to
// batchSize queries read and answered per pair of system calls. The
// kernel's address of each datagram costs one small allocation.
func (s *Server) serveUDPBatch(conn *net.UDPConn) {
	var bc batchConn
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		bc = v6batch{ipv6.NewPacketConn(conn)}
	} else {
		bc = ipv4.NewPacketConn(conn)
	}
	rms := make([]ipv4.Message, batchSize)
	wms := make([]ipv4.Message, batchSize)
	for i := range rms {
		rms[i].Buffers = [][]byte{make([]byte, 4096)}
		wms[i].Buffers = [][]byte{nil}
	}
	arena := make([]byte, 0, 64<<10)
	offs := make([]int, 0, batchSize+1)
	for {
		n, err := bc.ReadBatch(rms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			continue
		}
		arena, offs = arena[:0], offs[:0]
		k := 0
		for i := 0; i < n; i++ {
			m := &rms[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok || m.N == 0 {
				continue
			}
			ap := ua.AddrPort()
			req := m.Buffers[0][:m.N]
			x := s.getExchange()
			x.cl = client{addr: ap.Addr().Unmap(), proto: "udp", udp: true}
			start := len(arena)
			resp, done := s.begin(x, req, arena)
			if !done {
				select {
				case s.pending <- struct{}{}:
					x.own()
					go s.completeUDP(conn, ap, x)
					continue
				default:
					s.met.overload.Inc()
					resp = s.finish(x, wire.AppendError(arena, &x.q, x.req, wire.RcodeServFail), start)
				}
			}
			s.putExchange(x)
			if resp == nil || len(resp) == start {
				arena = resp[:start]
				continue
			}
			arena = resp
			offs = append(offs, start)
			wms[k].Addr = ua
			k++
		}
		offs = append(offs, len(arena))
		for j := 0; j < k; j++ {
			wms[j].Buffers[0] = arena[offs[j]:offs[j+1]]
		}
		for sent := 0; sent < k; {
			w, err := bc.WriteBatch(wms[sent:k], 0)
			if err != nil {
				break // a full send buffer or a closed socket: UDP may drop
			}
			sent += w
		}
	}
}
