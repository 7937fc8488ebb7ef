package scanfeed

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
)

// The feed's rows live in a table written for the purpose rather than a
// Go map: a sensor holds one interval's rows while the previous one is
// written, and at 200,000 distinct flows an interval the map (a 120-byte
// key with netip.Addr and strings, a separate slice of sums grown by
// doubling) held 285 bytes a row. Here a row is 80 bytes, the key a
// fixed array of small ids (the strings and devices interned per feed),
// the times in milliseconds within the row's hour, the rows in
// fixed-size chunks (no doubling) indexed by an open-addressed table of
// int32 (8 to 16 bytes a row). Chunks a written interval no longer needs
// go back to a Pool that the next interval takes them from, so a sensor
// holds about one interval's rows, not two (BenchmarkActiveFlowsHeap,
// BenchmarkTable in this package).

// fkey is a row's key: device, peer, hour, name, entity, port, protocol,
// role and the peer's address family, as bytes so that it hashes with
// maphash.Bytes and compares as an array.
type fkey [34]byte

const (
	kDev   = 0  // uint32, index in Feed.devs (site, address)
	kPeer  = 4  // [16]byte, the 16-byte form of the peer's address
	kHour  = 20 // uint32, hours since the epoch
	kName  = 24 // uint32, 1+index in Feed.names; 0 = no name
	kEnt   = 28 // uint16, index in Feed.entl (0 = none)
	kPort  = 30 // uint16
	kProto = 32 // uint8
	kRole  = 33 // uint8: bits 0-5 index in Feed.roles, bit 7 peer is IPv4
)

func putAddr(k *fkey, at int, a netip.Addr) {
	b := a.As16()
	copy(k[at:at+16], b[:])
}

func addrAt(k *fkey, at int, v4 bool) netip.Addr {
	a := netip.AddrFrom16([16]byte(k[at : at+16]))
	if v4 {
		return a.Unmap()
	}
	return a
}

// row is one summed row: its key and what was summed under it. first and
// last are milliseconds since the start of the key's hour (the stores
// keep milliseconds); a last past what 32 bits hold (a flow of 49 days)
// is lastLong, and kept in Feed.long. Packets and flows are counted in
// 32 bits, and what would not fit goes to Feed.big.
type row struct {
	bo, bi      uint64 // bytes out and in
	first, last uint32
	po, pi, n   uint32 // packets out and in, flows
	k           fkey
	host        uint16 // index in Feed.entl (0 = none)
	ev          uint32 // 1+index in Feed.evs; 0 = none
}

const lastLong = math.MaxUint32

// chunkRows is how many rows a chunk holds: 1,024 rows of 80 bytes.
const chunkRows = 1024

type chunk [chunkRows]row

// Pool keeps chunks a written feed released for the next feed to fill.
// It is safe for concurrent use: a sensor's flush hands chunks back while
// its sources fill the next interval.
type Pool struct {
	mu   sync.Mutex
	free []*chunk
}

func (p *Pool) get() *chunk {
	if p != nil {
		p.mu.Lock()
		n := len(p.free)
		if n > 0 {
			c := p.free[n-1]
			p.free[n-1] = nil
			p.free = p.free[:n-1]
			p.mu.Unlock()
			return c
		}
		p.mu.Unlock()
	}
	return new(chunk)
}

func (p *Pool) put(c *chunk) {
	p.mu.Lock()
	p.free = append(p.free, c)
	p.mu.Unlock()
}

// table is rows in chunks with an open-addressed index of 1+row numbers
// (linear probing, at most half full).
type table struct {
	seed   maphash.Seed
	chunks []*chunk
	n      int
	slots  []int32
	pool   *Pool
}

func (t *table) at(i int) *row { return &t.chunks[i/chunkRows][i%chunkRows] }

// find returns the row of k, adding a zero one if there is none.
func (t *table) find(k *fkey) (r *row, added bool) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for s := int(maphash.Bytes(t.seed, k[:])) & mask; ; s = (s + 1) & mask {
		i := t.slots[s]
		if i == 0 {
			if t.n == len(t.chunks)*chunkRows {
				t.chunks = append(t.chunks, t.pool.get())
			}
			r = t.at(t.n)
			*r = row{k: *k}
			t.n++
			t.slots[s] = int32(t.n)
			return r, true
		}
		if r := t.at(int(i) - 1); r.k == *k {
			return r, false
		}
	}
}

func (t *table) grow() {
	size := max(2*len(t.slots), 1024)
	t.slots = make([]int32, size)
	mask := size - 1
	for i := 0; i < t.n; i++ {
		s := int(maphash.Bytes(t.seed, t.at(i).k[:])) & mask
		for t.slots[s] != 0 {
			s = (s + 1) & mask
		}
		t.slots[s] = int32(i + 1)
	}
}

// gkey is a row's device and hour.
type gkey struct{ dev, hour uint32 }

// group moves the rows so that those of a device and hour come one after
// another, as a store's writer encodes them into one segment each and
// holds only the segments not yet written (sqlite's segAcc): groups in
// the order of their first row, rows in their order within a group (a
// stable counting sort, rows moved in place along the cycles of the
// permutation). It drops the index, which no longer finds the rows: it is
// for a table about to be read and reset, and the index's memory is not
// held while the rows are written.
func (t *table) group() {
	t.slots = nil
	if t.n < 2 {
		return
	}
	gs := map[gkey]int32{}
	var start []int32 // rows of each group, then where it starts
	to := make([]int32, t.n)
	for i := 0; i < t.n; i++ {
		k := &t.at(i).k
		g := gkey{get32(k, kDev), get32(k, kHour)}
		x, ok := gs[g]
		if !ok {
			x = int32(len(start))
			gs[g] = x
			start = append(start, 0)
		}
		start[x]++
		to[i] = x
	}
	if len(start) == 1 {
		return
	}
	at := int32(0)
	for x, n := range start {
		start[x] = at
		at += n
	}
	for i, x := range to {
		to[i] = start[x]
		start[x]++
	}
	// to[i] is where the row now at i goes
	for i := range to {
		for j := int(to[i]); j != i; j = int(to[i]) {
			a, b := t.at(i), t.at(j)
			*a, *b = *b, *a
			to[i], to[j] = to[j], to[i]
		}
	}
}

// reset forgets the rows. With a pool, the chunks go back to it (those
// each has not handed back already); without, the feed keeps them for
// its next rows, which overwrite them.
func (t *table) reset() {
	if t.pool != nil {
		for i, c := range t.chunks {
			if c != nil {
				t.pool.put(c)
			}
			t.chunks[i] = nil
		}
		t.chunks = t.chunks[:0]
	}
	t.n = 0
	clear(t.slots)
}

// uint32 and uint16 fields of a key.
func get32(k *fkey, at int) uint32    { return binary.LittleEndian.Uint32(k[at:]) }
func put32(k *fkey, at int, v uint32) { binary.LittleEndian.PutUint32(k[at:], v) }
func get16(k *fkey, at int) uint16    { return binary.LittleEndian.Uint16(k[at:]) }
func put16(k *fkey, at int, v uint16) { binary.LittleEndian.PutUint16(k[at:], v) }
