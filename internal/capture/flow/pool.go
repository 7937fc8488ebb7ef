package flow

import "github.com/outflow-dev/outflow/internal/sniff/quic"

// quicPool recycles QUIC assemblers: only flows to UDP 443 that start with
// an Initial need one, and only until the ClientHello is complete.
// (one pool per tracker: trackers run in parallel in tests)

type assemblerPool struct{ free []*quic.Assembler }

func (p *assemblerPool) get() *quic.Assembler {
	if n := len(p.free); n > 0 {
		a := p.free[n-1]
		p.free = p.free[:n-1]
		return a
	}
	return new(quic.Assembler)
}

func (p *assemblerPool) put(a *quic.Assembler) {
	a.Reset()
	if len(p.free) < 64 {
		p.free = append(p.free, a)
	}
}
