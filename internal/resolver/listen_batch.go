package resolver

import (
	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// BatchSupported says UDP queries are read and answered in batches here
// (Listen.Batch has an effect): recvmmsg and sendmmsg are Linux's.
const BatchSupported = mmsgSupported

// batchSize is how many datagrams one recvmmsg/sendmmsg moves.
const batchSize = 32

// serveUDPBatch is serveUDP with recvmmsg and sendmmsg (Linux): up to
// batchSize queries read and answered per pair of system calls, without
// allocating.
func (s *Server) serveUDPBatch(conn *udpSock) {
	mm := newMmsg(conn)
	rbufs := make([][]byte, batchSize)
	for i := range rbufs {
		rbufs[i] = make([]byte, 4096)
	}
	wbufs := make([][]byte, 0, batchSize)
	src := make([]int, 0, batchSize)
	offs := make([]int, 0, batchSize+1)
	arena := make([]byte, 0, 64<<10)
	for {
		n, err := mm.read(rbufs)
		if s.ctx.Err() != nil || conn.closed.Load() {
			return // Close shut the socket down: reads return at once from now on
		}
		if err != nil {
			continue // the receive timeout, a signal, or an error queued by ICMP
		}
		arena, offs, src, wbufs = arena[:0], offs[:0], src[:0], wbufs[:0]
		for i := 0; i < n; i++ {
			size := mm.size(i)
			ap, ok := mm.from(i)
			if size == 0 || !ok {
				s.met.malformed.Inc()
				continue
			}
			x := s.getExchange()
			x.cl = client{addr: clientAddr(ap), proto: "udp", udp: true}
			start := len(arena)
			resp, done := s.begin(x, rbufs[i][:size], arena)
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
				continue
			}
			arena = resp
			offs = append(offs, start)
			src = append(src, i)
		}
		offs = append(offs, len(arena))
		for k := range src {
			wbufs = append(wbufs, arena[offs[k]:offs[k+1]])
		}
		if len(wbufs) > 0 {
			mm.write(wbufs, src) // a full send buffer: UDP may drop, as the network may
		}
	}
}
