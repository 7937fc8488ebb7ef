package clickhouse

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"slices"
)

// A batch travels as columns: one typed slice per column, appended to
// the driver a column at a time (row-by-row appends through the driver's
// reflection cost more than the server's work), and encoded as such into
// the spool.

// Column kinds.
const (
	kStr uint8 = iota + 1
	kI64
	kU64
	kU32
	kU16
	kU8
)

// col is one column: K says which slice holds it.
type col struct {
	K   uint8
	S   []string
	I   []int64
	U   []uint64
	U32 []uint32
	U16 []uint16
	U8  []uint8
}

func (c *col) s(v string)   { c.K = kStr; c.S = append(c.S, v) }
func (c *col) i(v int64)    { c.K = kI64; c.I = append(c.I, v) }
func (c *col) u(v uint64)   { c.K = kU64; c.U = append(c.U, v) }
func (c *col) u32(v uint32) { c.K = kU32; c.U32 = append(c.U32, v) }
func (c *col) u16(v uint16) { c.K = kU16; c.U16 = append(c.U16, v) }
func (c *col) u8(v uint8)   { c.K = kU8; c.U8 = append(c.U8, v) }

// add appends a value of any of the kinds; other types are a bug in the
// writer, reported as an error by tab.check.
func (c *col) add(v any) {
	switch x := v.(type) {
	case string:
		c.s(x)
	case int64:
		c.i(x)
	case uint64:
		c.u(x)
	case uint32:
		c.u32(x)
	case uint16:
		c.u16(x)
	case uint8:
		c.u8(x)
	}
}

func (c *col) len() int {
	switch c.K {
	case kStr:
		return len(c.S)
	case kI64:
		return len(c.I)
	case kU64:
		return len(c.U)
	case kU32:
		return len(c.U32)
	case kU16:
		return len(c.U16)
	case kU8:
		return len(c.U8)
	}
	return 0
}

// slice is rows lo to hi of the column's slice, as the driver appends it.
func (c *col) slice(lo, hi int) any {
	switch c.K {
	case kStr:
		return c.S[lo:hi]
	case kI64:
		return c.I[lo:hi]
	case kU64:
		return c.U[lo:hi]
	case kU32:
		return c.U32[lo:hi]
	case kU16:
		return c.U16[lo:hi]
	case kU8:
		return c.U8[lo:hi]
	}
	return nil
}

func gather[T any](s []T, perm []int32, into []T) []T {
	into = slices.Grow(into[:0], len(perm))
	for _, i := range perm {
		into = append(into, s[i])
	}
	return into
}

// gather is the column's values at perm, in that order, in sc's slice of
// the column's kind (reused from one block to the next).
func (c *col) gather(perm []int32, sc *col) any {
	switch c.K {
	case kStr:
		sc.S = gather(c.S, perm, sc.S)
		return sc.S
	case kI64:
		sc.I = gather(c.I, perm, sc.I)
		return sc.I
	case kU64:
		sc.U = gather(c.U, perm, sc.U)
		return sc.U
	case kU32:
		sc.U32 = gather(c.U32, perm, sc.U32)
		return sc.U32
	case kU16:
		sc.U16 = gather(c.U16, perm, sc.U16)
		return sc.U16
	case kU8:
		sc.U8 = gather(c.U8, perm, sc.U8)
		return sc.U8
	}
	return nil
}

// sortPerm is the order of rows by (dev, h), stable, as the server
// sorts them (strings byte by byte); nil when they are in order already.
// Devices are ranked once and the rows placed by a counting sort, so
// it costs a map lookup a row rather than a comparison sort's string
// comparisons; a device's rows are sorted by hour only when they are
// not in order.
func sortPerm(dev []string, h []int64) []int32 {
	n := len(dev)
	if n != len(h) || n > 1<<31-1 {
		return nil
	}
	sorted := true
	for i := 1; i < n && sorted; i++ {
		c := cmp.Compare(dev[i-1], dev[i])
		sorted = c < 0 || c == 0 && h[i-1] <= h[i]
	}
	if sorted {
		return nil
	}
	id := make(map[string]int32, 1024)
	ids := make([]int32, n)
	var keys []string
	for i, s := range dev {
		x, ok := id[s]
		if !ok {
			x = int32(len(keys))
			id[s] = x
			keys = append(keys, s)
		}
		ids[i] = x
	}
	byKey := make([]int32, len(keys)) // device ids in key order
	for i := range byKey {
		byKey[i] = int32(i)
	}
	slices.SortFunc(byKey, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
	start := make([]int32, len(keys)+1) // by id: where its rows start
	for _, x := range ids {
		start[x+1]++
	}
	at := make([]int32, len(keys))
	var sum int32
	for _, x := range byKey {
		at[x] = sum
		sum += start[x+1]
	}
	perm := make([]int32, n)
	for i, x := range ids {
		perm[at[x]] = int32(i)
		at[x]++
	}
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && ids[perm[hi]] == ids[perm[lo]] {
			hi++
		}
		run := perm[lo:hi]
		if !slices.IsSortedFunc(run, func(a, b int32) int { return cmp.Compare(h[a], h[b]) }) {
			slices.SortStableFunc(run, func(a, b int32) int { return cmp.Compare(h[a], h[b]) })
		}
		lo = hi
	}
	return perm
}

func filter[T any](s []T, keep []bool) []T {
	out := s[:0:0]
	for i, v := range s {
		if keep[i] {
			out = append(out, v)
		}
	}
	return out
}

// keep returns the column with only the rows keep marks.
func (c *col) keep(keep []bool) col {
	return col{K: c.K, S: filter(c.S, keep), I: filter(c.I, keep), U: filter(c.U, keep), U32: filter(c.U32, keep),
		U16: filter(c.U16, keep), U8: filter(c.U8, keep)}
}

// reset empties the column, keeping its memory.
func (c *col) reset() {
	c.S, c.I, c.U, c.U32, c.U16, c.U8 = c.S[:0], c.I[:0], c.U[:0], c.U32[:0], c.U16[:0], c.U8[:0]
}

// tab is one table's rows of a batch.
type tab struct {
	Name string
	Cols []col
}

func (t *tab) reset() {
	for i := range t.Cols {
		t.Cols[i].reset()
	}
}

// grow makes room for n more rows in every column whose kind is known.
func (t *tab) grow(n int) {
	for i := range t.Cols {
		c := &t.Cols[i]
		switch c.K {
		case kStr:
			c.S = slices.Grow(c.S, n)
		case kI64:
			c.I = slices.Grow(c.I, n)
		case kU64:
			c.U = slices.Grow(c.U, n)
		case kU16:
			c.U16 = slices.Grow(c.U16, n)
		}
	}
}

func (t *tab) rows() int {
	if len(t.Cols) == 0 {
		return 0
	}
	return t.Cols[0].len()
}

// check reports columns of unequal length (a value of a type col does
// not take).
func (t *tab) check() error {
	n := t.rows()
	for i := range t.Cols {
		if t.Cols[i].len() != n {
			return fmt.Errorf("%s: column %d has %d values, column 0 %d", t.Name, i, t.Cols[i].len(), n)
		}
	}
	return nil
}

// payload is one batch as sent and as spooled. Batch names it in the
// batches table and in the rows of flow and query, which is how a
// replay knows what the server already holds.
type payload struct {
	Batch  string
	At     int64 // Unix ms when it was built
	Tables []*tab
}

func (p *payload) rows() uint64 {
	var n uint64
	for _, t := range p.Tables {
		n += uint64(t.rows())
	}
	return n
}

func (p *payload) encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(p); err != nil {
		return nil, fmt.Errorf("spool: encode batch %s: %w", p.Batch, err)
	}
	return b.Bytes(), nil
}

func decode(b []byte) (*payload, error) {
	p := &payload{}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(p); err != nil {
		return nil, fmt.Errorf("spool: decode batch: %w", err)
	}
	return p, nil
}
