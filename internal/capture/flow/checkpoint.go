package flow

import "github.com/outflow-dev/outflow/internal/flowrec"

// out is the record finish hands to the sink: the counters Checkpoint has
// not handed on yet.
func (f *entry) out() *flowrec.Flow {
	f.BytesOut -= f.sentBytesOut
	f.BytesIn -= f.sentBytesIn
	f.PacketsOut -= f.sentPktsOut
	f.PacketsIn -= f.sentPktsIn
	f.sentBytesOut, f.sentBytesIn, f.sentPktsOut, f.sentPktsIn = 0, 0, 0, 0
	return &f.Flow
}

// Checkpoint hands every active flow's growth since the last checkpoint
// to sink, as a record whose counters are that delta, and keeps the flows.
// A long-running consumer (the sensor) calls it before each flush so that
// a flow living across flushes is counted once: each byte goes out in
// exactly one checkpoint or in the flow's final record. Flows that did not
// grow are skipped. The record is valid only during the call.
func (t *Tracker) Checkpoint(sink Sink) {
	for idx := t.lru.head; idx >= 0; idx = t.slab[idx].next {
		f := &t.slab[idx]
		d := f.Flow
		d.BytesOut -= f.sentBytesOut
		d.BytesIn -= f.sentBytesIn
		d.PacketsOut -= f.sentPktsOut
		d.PacketsIn -= f.sentPktsIn
		if d.PacketsOut == 0 && d.PacketsIn == 0 && d.BytesOut == 0 && d.BytesIn == 0 {
			continue
		}
		if d.DNSName == "" {
			if n, q, ok := t.dns.lookup(d.Device, d.Peer, d.Last); ok {
				d.DNSName, d.DNSQuery = n, q
			}
		}
		f.sentBytesOut, f.sentBytesIn, f.sentPktsOut, f.sentPktsIn = f.BytesOut, f.BytesIn, f.PacketsOut, f.PacketsIn
		sink(&d)
	}
}
