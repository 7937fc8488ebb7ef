package scan

import (
	"context"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/pcapfile"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

// item is what decode hands to apply: a decoded packet, a packet that
// was no IP, or a warning in its place among the packets.
type item struct {
	p     decode.Packet
	wire  int       // the packet's length on the wire
	ts    time.Time // when it was captured
	num   int       // its number in the capture, for warnings
	notIP bool
	warn  string
}

// Batches in flight between the reading goroutine and the tracker's:
// enough to keep both busy, few enough to keep memory flat (each holds
// batchItems items and batchBytes of payload: about 3 MB in all). Each
// hand-off wakes a goroutine, on two cores shared by three stages: 1,024
// items a batch instead of 256 took a pipelined scan of the 40-copy
// distinct capture from about 0.9 to 0.67-0.75 of the wall on one
// goroutine (BenchmarkScanWorkers, docs/benchmarks.md); 4,096 was slower.
const (
	batches    = 4
	batchItems = 1024
	batchBytes = 512 << 10
)

// batch is a run of items with their payloads copied into one arena:
// the reader's buffer is reused as soon as the next packet is read.
type batch struct {
	items []item
	arena []byte
}

// add copies it into the batch; false when the batch is full.
func (b *batch) add(it *item) bool {
	if len(b.items) == cap(b.items) {
		return false
	}
	pl := it.p.Payload
	if len(pl) > 0 {
		switch {
		case len(pl) > cap(b.arena):
			// larger than any arena (a snap length past 512 KiB): a copy
			// of its own
			pl = append([]byte(nil), pl...)
		case len(b.arena)+len(pl) > cap(b.arena):
			return false
		default:
			n := len(b.arena)
			b.arena = append(b.arena, pl...)
			pl = b.arena[n:len(b.arena):len(b.arena)]
		}
	}
	b.items = append(b.items, *it)
	b.items[len(b.items)-1].p.Payload = pl
	return true
}

// flowBatch is a run of finished flows, copied: the tracker reuses its
// records.
type flowBatch []flowrec.Flow

const flowBatchLen = 512

// readPipelined is Read's loop in three stages that run at once: this
// goroutine reads and decodes packets (decode), a second feeds them to
// the tracker (apply), a third attributes and sums each flow the tracker
// finishes (sink). Each stage sees its input in the order of the one
// before: the tracker sees every packet in capture order and the sums
// every flow in the order the tracker ended it, exactly as when one
// goroutine does all, so names learnt from one flow (DNS answers, SNI,
// certificates, DHCP) reach the flows after it as before and the report
// is the same byte for byte. Only the reading and decoding, the tracking
// and the attribution overlap.
//
// Trackers per flow hash would scale further, but the name memory, the
// peer memory, the devices, the table's evictions and the order of the
// sums are shared across flows and in time order: every shard would have
// to see every other's updates before its next packet.
func (s *Scanner) readPipelined(ctx context.Context, r *pcapfile.Reader, in *Input) error {
	// The batches are the scanner's, made for its first capture and
	// reused for the next: 3 MB of new memory for every capture made a
	// scan of the 26 shared captures in one process 2.5 times slower
	// pipelined than on one goroutine (its page faults).
	s.pipelined++
	if s.pipe == nil {
		s.pipe = &pipeBuffers{free: make(chan *batch, batches), flowFree: make(chan flowBatch, batches)}
		for range batches {
			s.pipe.free <- &batch{items: make([]item, 0, batchItems), arena: make([]byte, 0, batchBytes)}
			s.pipe.flowFree <- make(flowBatch, 0, flowBatchLen)
		}
	}
	free, flowFree := s.pipe.free, s.pipe.flowFree
	full := make(chan *batch, batches)
	flowFull := make(chan flowBatch, batches)
	summed := make(chan struct{})
	go func() {
		defer close(summed)
		for fb := range flowFull {
			for i := range fb {
				s.sink(&fb[i])
			}
			clear(fb)
			flowFree <- fb[:0]
		}
	}()
	fb := <-flowFree
	s.ended = func(f *flowrec.Flow) {
		if len(fb) == cap(fb) {
			flowFull <- fb
			fb = <-flowFree
		}
		fb = append(fb, *f)
	}
	tracked := make(chan struct{})
	go func() {
		defer close(tracked)
		for b := range full {
			for i := range b.items {
				s.apply(r.Name, &b.items[i])
			}
			clear(b.items) // drop references to large payloads and warnings
			b.items, b.arena = b.items[:0], b.arena[:0]
			free <- b
		}
		flowFull <- fb
		close(flowFull)
	}()
	b := <-free
	err := s.decode(ctx, r, in, func(it *item) {
		if b.add(it) {
			return
		}
		full <- b
		b = <-free
		b.add(it) // an empty batch takes any item
	})
	full <- b
	close(full)
	<-tracked
	<-summed
	s.ended = nil // every batch is back in its free queue, empty
	return err
}

// pipeBuffers are readPipelined's free queues, their batches kept from
// one capture to the next.
type pipeBuffers struct {
	free     chan *batch
	flowFree chan flowBatch
}
