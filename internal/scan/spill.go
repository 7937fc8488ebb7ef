package scan

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// spill holds the finished flows of the devices a scan keeps no sums for
// (Config.MaxDevices), to be summed device by device when the report is
// written. Flows are encoded into a run in memory; a full run is sorted
// by device, stably, and written to a temporary file. Reading merges the
// runs by device and, within a device, in the order the flows ended (run
// by run, each in its order), so that summing them gives what summing
// them as they ended gives.
//
// The file is the scanner's own, written and read back by it: a record
// that does not decode, or whose checksum does not match, is an error,
// never a guess. A file that cannot be written leaves the runs in memory.
type spill struct {
	arena []byte      // the current run's records
	index []spillItem // and where each is, to be sorted
	runs  []spillRun
	file  *os.File
	path  string
	end   int64 // bytes written to file
	w     *bufio.Writer
	err   error // the file's, when runs stay in memory
	flows uint64
}

type spillItem struct {
	dev      netip.Addr
	off, len uint32
}

// spillRun is a sorted run: in the file at off, or in mem.
type spillRun struct {
	off, len int64
	mem      []byte
}

// spillRunBytes is the size of a run in memory before it is written
// (a variable for tests, to merge many runs).
var spillRunBytes = 512 << 10

var spillCRC = crc32.MakeTable(crc32.Castagnoli)

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// add encodes f into the current run.
func (sp *spill) add(f *flowrec.Flow) {
	off := len(sp.arena)
	sp.arena = appendFlowRecord(sp.arena, f)
	sp.index = append(sp.index, spillItem{dev: f.Device, off: uint32(off), len: uint32(len(sp.arena) - off)})
	sp.flows++
	if len(sp.arena) >= spillRunBytes {
		sp.flush()
	}
}

// flush writes the current run, sorted by device.
func (sp *spill) flush() {
	if len(sp.index) == 0 {
		return
	}
	slices.SortStableFunc(sp.index, func(a, b spillItem) int { return a.dev.Compare(b.dev) })
	n := int64(len(sp.arena))
	if sp.err == nil && sp.file == nil {
		sp.file, sp.err = os.CreateTemp("", "outflow-scan-*.spill")
		if sp.err == nil {
			sp.path = sp.file.Name()
			if runtime.GOOS != "windows" {
				// gone with the process, however it ends
				if os.Remove(sp.path) == nil {
					sp.path = ""
				}
			}
		}
	}
	if sp.err == nil {
		if sp.w == nil {
			sp.w = bufio.NewWriterSize(nil, 64<<10)
		}
		sp.w.Reset(io.NewOffsetWriter(sp.file, sp.end))
		for _, it := range sp.index {
			_, _ = sp.w.Write(sp.arena[it.off : it.off+it.len])
		}
		if sp.err = sp.w.Flush(); sp.err == nil {
			sp.runs = append(sp.runs, spillRun{off: sp.end, len: n})
			sp.end += n
			sp.arena, sp.index = sp.arena[:0], sp.index[:0]
			return
		}
	}
	// no file: the run stays in memory
	out := make([]byte, 0, n)
	for _, it := range sp.index {
		out = append(out, sp.arena[it.off:it.off+it.len]...)
	}
	sp.runs = append(sp.runs, spillRun{mem: out, len: n})
	sp.arena, sp.index = sp.arena[:0], sp.index[:0]
}

// memBytes is what the runs kept in memory hold (the file could not be
// written).
func (sp *spill) memBytes() int64 {
	var n int64
	for _, r := range sp.runs {
		n += int64(len(r.mem))
	}
	return n
}

// close removes the file.
func (sp *spill) close() error {
	if sp == nil || sp.file == nil {
		return nil
	}
	err := sp.file.Close()
	if sp.path != "" {
		if e := os.Remove(sp.path); err == nil {
			err = e
		}
	}
	sp.file = nil
	return err
}

// reader merges the runs: next returns the flows by device, and in the
// order they ended within a device.
func (sp *spill) reader() (*spillReader, error) {
	sp.flush()
	r := &spillReader{}
	for i, run := range sp.runs {
		var src io.Reader
		if run.mem != nil {
			src = bytes.NewReader(run.mem)
		} else {
			src = io.NewSectionReader(sp.file, run.off, run.len)
		}
		c := &spillCursor{run: i, r: bufio.NewReaderSize(src, 8<<10), left: run.len, name: fmt.Sprintf("spilled flows, run %d", i)}
		ok, err := c.advance()
		if err != nil {
			return nil, err
		}
		if ok {
			r.h = append(r.h, c)
		}
	}
	heap.Init(&r.h)
	return r, nil
}

type spillReader struct{ h cursorHeap }

// peek is the device of the next flow; false at the end.
func (r *spillReader) peek() (netip.Addr, bool) {
	if len(r.h) == 0 {
		return netip.Addr{}, false
	}
	return r.h[0].f.Device, true
}

// next copies the next flow into f.
func (r *spillReader) next(f *flowrec.Flow) error {
	c := r.h[0]
	*f = c.f
	ok, err := c.advance()
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(&r.h, 0)
	} else {
		heap.Pop(&r.h)
	}
	return nil
}

// flowSource is what eachSum reads spilled flows from: the merge itself
// (spillReader), or the merge run ahead on a goroutine of its own
// (prefetch).
type flowSource interface {
	peek() (netip.Addr, bool)
	next(f *flowrec.Flow) error
}

// prefetch runs a spillReader on a goroutine of its own, prefetchLen
// flows ahead in each of a few batches, for a scan on more than one core:
// reading back, checking and decoding the spilled flows was a third of
// the report's walk on the ten-times-larger capture of
// bench/scan/distinct.sh, and waited for the attribution and sums of each
// device before it. It gives what the reader gives, flow for flow,
// and its error where the reader gave it: next returns the error in
// place of the flow whose read failed, whose device peek still names, so
// that no device is summed short.
type prefetch struct {
	full   chan flowBatchErr
	free   chan []flowrec.Flow
	done   chan struct{}
	exited chan struct{}
	cur    flowBatchErr
	i      int
	end    bool
}

type flowBatchErr struct {
	flows []flowrec.Flow
	err   error // in place of the last flow's next
}

const prefetchLen = 256

func newPrefetch(r *spillReader) *prefetch {
	p := &prefetch{full: make(chan flowBatchErr, 2), free: make(chan []flowrec.Flow, 3), done: make(chan struct{}), exited: make(chan struct{})}
	for range cap(p.free) {
		p.free <- make([]flowrec.Flow, 0, prefetchLen)
	}
	go func() {
		defer close(p.exited)
		defer close(p.full)
		for {
			select {
			case <-p.done: // stopped: not a batch more
				return
			default:
			}
			var b flowBatchErr
			select {
			case b.flows = <-p.free:
			case <-p.done:
				return
			}
			for len(b.flows) < prefetchLen && b.err == nil {
				if _, ok := r.peek(); !ok {
					break
				}
				b.flows = append(b.flows, flowrec.Flow{})
				b.err = r.next(&b.flows[len(b.flows)-1])
			}
			if len(b.flows) == 0 {
				return
			}
			select {
			case p.full <- b:
			case <-p.done:
				return
			}
			if b.err != nil || len(b.flows) < prefetchLen {
				return
			}
		}
	}()
	return p
}

// fill makes cur hold a flow at i; false at the end.
func (p *prefetch) fill() bool {
	for !p.end && p.i == len(p.cur.flows) {
		if p.cur.flows != nil {
			clear(p.cur.flows)
			p.free <- p.cur.flows[:0]
		}
		b, ok := <-p.full
		if !ok {
			p.end, p.cur = true, flowBatchErr{}
			break
		}
		p.cur, p.i = b, 0
	}
	return !p.end
}

func (p *prefetch) peek() (netip.Addr, bool) {
	if !p.fill() {
		return netip.Addr{}, false
	}
	return p.cur.flows[p.i].Device, true
}

func (p *prefetch) next(f *flowrec.Flow) error {
	if !p.fill() {
		return errors.New("spilled flows: read past the end") // eachSum peeks first
	}
	*f = p.cur.flows[p.i]
	p.i++
	if p.i == len(p.cur.flows) && p.cur.err != nil {
		return p.cur.err
	}
	return nil
}

// stop ends the goroutine, and returns once it has: the flows not read
// are dropped, and the spill can be closed.
func (p *prefetch) stop() {
	close(p.done)
	<-p.exited
}

type spillCursor struct {
	run  int
	r    *bufio.Reader
	left int64 // bytes of the run not read yet
	f    flowrec.Flow
	buf  []byte
	name string
	n    int // records read
}

// advance reads the cursor's next record; false at the end of its run,
// which is where the run's length says it is: a run that ends early, or
// a record longer than what is left of it, is corrupt.
func (c *spillCursor) advance() (bool, error) {
	if c.left == 0 {
		return false, nil
	}
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		return false, c.corrupt(fmt.Errorf("record length: %w (%d bytes of the run left)", err, c.left))
	}
	if rec := int64(uvarintLen(n)) + 4; n > uint64(c.left) || int64(n)+rec > c.left {
		return false, c.corrupt(errors.New("bad record length"))
	}
	c.left -= int64(uvarintLen(n)) + int64(n) + 4
	if cap(c.buf) < int(n)+4 {
		c.buf = make([]byte, int(n)+4)
	}
	b := c.buf[:n+4]
	if _, err := io.ReadFull(c.r, b); err != nil {
		return false, c.corrupt(err)
	}
	if crc32.Checksum(b[:n], spillCRC) != binary.LittleEndian.Uint32(b[n:]) {
		return false, c.corrupt(errors.New("checksum mismatch"))
	}
	if err := decodeFlow(b[:n], &c.f); err != nil {
		return false, c.corrupt(err)
	}
	c.n++
	return true, nil
}

func (c *spillCursor) corrupt(err error) error {
	return fmt.Errorf("%s, record %d: corrupt: %w", c.name, c.n, err)
}

type cursorHeap []*spillCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if c := h[i].f.Device.Compare(h[j].f.Device); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*spillCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// appendFlowRecord appends f as one record: its length, the encoded flow,
// and a CRC-32C of it.
func appendFlowRecord(b []byte, f *flowrec.Flow) []byte {
	var tmp [256]byte
	p := encodeFlow(tmp[:0], f)
	b = binary.AppendUvarint(b, uint64(len(p)))
	b = append(b, p...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(p, spillCRC))
}

// flowStrings are a flow's strings, in the order they are encoded.
func flowStrings(f *flowrec.Flow) [14]*string {
	return [14]*string{&f.Site, &f.SNI, &f.QUICSNI, &f.HTTPHost, &f.XMPPTo, &f.DNSName, &f.DNSQuery, &f.PeerName,
		&f.CertOrg, &f.CertCN, &f.ALPN, &f.Signature, &f.HTTPDNS, &f.Tunnel}
}

func encodeFlow(b []byte, f *flowrec.Flow) []byte {
	for _, a := range [2]netip.Addr{f.Device, f.Peer} {
		n := len(b)
		b = append(b, 0)
		b, _ = a.AppendBinary(b)
		b[n] = byte(len(b) - n - 1)
	}
	b = binary.AppendUvarint(b, uint64(f.DevicePort))
	b = binary.AppendUvarint(b, uint64(f.PeerPort))
	b = append(b, f.Proto)
	b = append(b, f.DeviceMAC[:]...)
	var flags byte
	if f.HasMAC {
		flags |= 1
	}
	if f.NoDNS {
		flags |= 2
	}
	b = append(b, flags, byte(f.Hidden))
	for _, v := range [4]uint64{f.BytesOut, f.BytesIn, f.PacketsOut, f.PacketsIn} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendVarint(b, f.First)
	b = binary.AppendVarint(b, f.Last)
	for _, s := range flowStrings(f) {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	return b
}

var errShort = errors.New("record too short")

func decodeFlow(b []byte, f *flowrec.Flow) error {
	*f = flowrec.Flow{}
	for _, a := range [2]*netip.Addr{&f.Device, &f.Peer} {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return errShort
		}
		if err := a.UnmarshalBinary(b[1 : 1+b[0]]); err != nil {
			return err
		}
		b = b[1+b[0]:]
	}
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	f.DevicePort, f.PeerPort = uint16(uv()), uint16(uv())
	if len(b) < 9 {
		return errShort
	}
	f.Proto = b[0]
	copy(f.DeviceMAC[:], b[1:7])
	f.HasMAC, f.NoDNS, f.Hidden = b[7]&1 != 0, b[7]&2 != 0, flowrec.Hidden(b[8])
	b = b[9:]
	f.BytesOut, f.BytesIn, f.PacketsOut, f.PacketsIn = uv(), uv(), uv(), uv()
	for _, v := range [2]*int64{&f.First, &f.Last} {
		x, n := binary.Varint(b)
		if n <= 0 {
			return errShort
		}
		*v, b = x, b[n:]
	}
	for _, s := range flowStrings(f) {
		n := uv()
		if b == nil || uint64(len(b)) < n {
			return errShort
		}
		*s, b = string(b[:n]), b[n:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes after the flow", len(b))
	}
	return nil
}
