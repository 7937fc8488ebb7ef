package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Daily rollups are packed: one row per key (device, entity, role for
// flows; client, group, rule, entity, verdict for queries) and block of 32
// days, the days in a blob. A month's question then reads two rows per key
// instead of thirty, which is what keeps the dashboard's month views
// within their time budget on a fleet of thousands of devices: SQLite
// spends microseconds per row, Go nanoseconds per packed day.
//
// A day record: day within the block, then the family's values as
// uvarints. Counters are summed, first and last (ms within the day) kept
// as min and max. Records are sorted by day.

const blockDays = 32

// family describes a pair of rollup tables.
type family struct {
	h, m   string   // hourly and block tables
	keys   []string // key columns after the time
	values []string // value columns of the hourly table, first and last at the end
}

var (
	flowFam  = family{"flow_h", "flow_m", []string{"dev", "ent", "role"}, []string{"bo", "bi", "po", "pi", "n", "first", "last"}}
	queryFam = family{"query_h", "query_m", []string{"dev", "grp", "rule", "ent", "verdict"}, []string{"n", "first", "last"}}
)

// nv is the number of values; the last two are first and last.
func (f family) nv() int { return len(f.values) }

type dayRec struct {
	day int64 // within the block
	v   []uint64
}

func decodeDays(data []byte, nv int, fn func(day int64, v []uint64)) error {
	r := reader{b: data}
	v := make([]uint64, nv)
	for len(r.b) > 0 {
		day := int64(r.u())
		for i := range v {
			v[i] = r.u()
		}
		if r.err || day >= blockDays {
			return errSeg
		}
		fn(day, v)
	}
	return nil
}

func encodeDays(b []byte, recs []dayRec) []byte {
	for _, r := range recs {
		b = binary.AppendUvarint(b, uint64(r.day))
		for _, x := range r.v {
			b = binary.AppendUvarint(b, x)
		}
	}
	return b
}

// mergeDay adds v into acc: sums, then min first and max last.
func mergeDay(acc, v []uint64) {
	n := len(acc)
	for i := 0; i < n-2; i++ {
		acc[i] += v[i]
	}
	acc[n-2] = min(acc[n-2], v[n-2])
	acc[n-1] = max(acc[n-1], v[n-1])
}

// blockDelta is what a flush adds to one block row.
type blockDelta struct {
	key  []int64 // m, then the family's keys
	days []dayRec
}

// writeBlocks merges deltas into the block table, 64 rows a statement.
func (w *wtx) writeBlocks(f family, deltas []blockDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	slices.SortFunc(deltas, func(a, b blockDelta) int { return slices.Compare(a.key, b.key) })
	cols := "m, " + strings.Join(f.keys, ", ")
	nk := 1 + len(f.keys)
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", nk), ", ") + ")"
	for lo := 0; lo < len(deltas); lo += chunk {
		part := deltas[lo:min(len(deltas), lo+chunk)]
		// existing rows of these keys
		q := "SELECT " + cols + ", data FROM " + f.m + " WHERE (" + cols + ") IN (VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", len(part)), ", ") + ")"
		w.args = w.args[:0]
		for _, d := range part {
			for _, k := range d.key {
				w.args = append(w.args, k)
			}
		}
		st, err := w.stmt(q)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(w.ctx, w.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", f.m, err)
		}
		old := map[string][]byte{}
		key := make([]int64, nk)
		dst := make([]any, nk+1)
		for i := range key {
			dst[i] = &key[i]
		}
		var data []byte
		dst[nk] = &data
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return err
			}
			old[keyString(key)] = slices.Clone(data)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// merged rows
		enc := make([][]byte, len(part))
		for i, d := range part {
			recs := slices.Clone(d.days)
			if b, ok := old[keyString(d.key)]; ok {
				byDay := map[int64]int{}
				for j, r := range recs {
					byDay[r.day] = j
				}
				err := decodeDays(b, f.nv(), func(day int64, v []uint64) {
					if j, ok := byDay[day]; ok {
						mergeDay(recs[j].v, v)
						return
					}
					byDay[day] = len(recs)
					recs = append(recs, dayRec{day, slices.Clone(v)})
				})
				if err != nil {
					return fmt.Errorf("%s: block %v: %w", f.m, d.key, err)
				}
			}
			slices.SortFunc(recs, func(a, b dayRec) int { return cmp.Compare(a.day, b.day) })
			enc[i] = encodeDays(nil, recs)
		}
		err = w.multi("INSERT OR REPLACE INTO "+f.m+"("+cols+", data) VALUES ", "", nk+1, len(part), func(i int, dst []any) []any {
			for _, k := range part[i].key {
				dst = append(dst, k)
			}
			return append(dst, enc[i])
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func keyString(k []int64) string {
	b := make([]byte, 0, len(k)*8)
	for _, x := range k {
		b = binary.AppendVarint(b, x)
	}
	return string(b)
}

// blockDeltas groups day-level sums (day first in each key) by block.
func blockDeltas[K [4]int64 | [6]int64](m map[K][]uint64) []blockDelta {
	idx := map[string]int{}
	var out []blockDelta
	for k, v := range m {
		ka := keySlice(k)
		day := ka[0]
		key := append([]int64{floorDiv(day, blockDays)}, ka[1:]...)
		ks := keyString(key)
		i, ok := idx[ks]
		if !ok {
			i = len(out)
			idx[ks] = i
			out = append(out, blockDelta{key: key})
		}
		out[i].days = append(out[i].days, dayRec{day - key[0]*blockDays, slices.Clone(v)})
	}
	return out
}

// shortPeriod is the longest period answered hour by hour; longer ones
// are answered in whole UTC days.
const shortPeriod = 48

// days is the period rounded out to whole days.
func (p period) days() (lo, hi int64) {
	return floorDiv(p.hlo, 24), floorDiv(p.hhi+23, 24)
}

// rollup calls fn with the values of each key of a family and day (or
// hour, for short periods) in the period, within cond (SQL on the key
// columns). v is the family's values, first and last in Unix ms; fn must
// not keep key or v.
func (d *DB) rollup(ctx context.Context, f family, cond string, p period, fn func(key []int64, day int64, v []uint64) error) error {
	nk := len(f.keys)
	key := make([]int64, nk)
	v := make([]uint64, f.nv())
	and := ""
	if cond != "" {
		and = " AND (" + cond + ")"
	}
	if p.hhi-p.hlo < shortPeriod {
		var h int64
		dst := []any{&h}
		for i := range key {
			dst = append(dst, &key[i])
		}
		for i := range v {
			dst = append(dst, &v[i])
		}
		return d.query(ctx, "SELECT h, "+strings.Join(f.keys, ", ")+", "+strings.Join(f.values, ", ")+" FROM "+f.h+
			" WHERE h >= ? AND h < ?"+and, func(r *sql.Rows) error {
			if err := r.Scan(dst...); err != nil {
				return err
			}
			return fn(key, floorDiv(h, 24), v)
		}, p.hlo, p.hhi)
	}
	dlo, dhi := p.days()
	var m int64
	var data []byte
	dst := []any{&m}
	for i := range key {
		dst = append(dst, &key[i])
	}
	dst = append(dst, &data)
	return d.query(ctx, "SELECT m, "+strings.Join(f.keys, ", ")+", data FROM "+f.m+" WHERE m >= ? AND m <= ?"+and, func(r *sql.Rows) error {
		if err := r.Scan(dst...); err != nil {
			return err
		}
		var ferr error
		err := decodeDays(data, len(v), func(day int64, x []uint64) {
			day += m * blockDays
			if day < dlo || day >= dhi || ferr != nil {
				return
			}
			copy(v, x)
			base := uint64(day * msDay)
			v[len(v)-2] += base
			v[len(v)-1] += base
			ferr = fn(key, day, v)
		})
		if err != nil {
			return fmt.Errorf("%s block %d: %w", f.m, m, err)
		}
		return ferr
	}, floorDiv(dlo, blockDays), floorDiv(dhi-1, blockDays))
}

func keySlice[K [4]int64 | [6]int64](k K) []int64 {
	switch k := any(k).(type) {
	case [4]int64:
		return k[:]
	case [6]int64:
		return k[:]
	}
	return nil
}
