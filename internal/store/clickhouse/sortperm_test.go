package clickhouse

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortPerm: the order sortPerm gives is a permutation of the rows,
// sorted by device (byte by byte, as the server compares strings) and
// hour, stable among equal keys; rows already in order give nil.
func TestSortPerm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 17, 1000, 50000} {
		for _, hours := range []int{1, 3} {
			dev, h := make([]string, n), make([]int64, n)
			for i := range n {
				dev[i] = fmt.Sprintf("10.0.%d.%d", r.IntN(4), r.IntN(250))
				if r.IntN(3) == 0 {
					dev[i] = fmt.Sprintf("fe80::%x", r.IntN(40)) // and longer, other prefixes
				}
				h[i] = int64(490000 + r.IntN(hours))
			}
			perm := sortPerm(dev, h)
			if perm == nil {
				perm = make([]int32, n)
				for i := range perm {
					perm[i] = int32(i)
				}
			}
			seen := make([]bool, n)
			for _, i := range perm {
				if seen[i] {
					t.Fatalf("n=%d: row %d twice", n, i)
				}
				seen[i] = true
			}
			if len(perm) != n {
				t.Fatalf("n=%d: %d rows", n, len(perm))
			}
			for k := 1; k < n; k++ {
				a, b := perm[k-1], perm[k]
				c := cmp.Or(cmp.Compare(dev[a], dev[b]), cmp.Compare(h[a], h[b]))
				if c > 0 || c == 0 && a > b {
					t.Fatalf("n=%d hours=%d: row %d (%s, %d) before row %d (%s, %d)", n, hours, a, dev[a], h[a], b, dev[b], h[b])
				}
			}
			// in order: nothing to do
			sd, sh := make([]string, n), make([]int64, n)
			for k, i := range perm {
				sd[k], sh[k] = dev[i], h[i]
			}
			if p := sortPerm(sd, sh); p != nil {
				t.Errorf("n=%d: sorted rows permuted again", n)
			}
		}
	}
	if !slices.Equal(sortPerm([]string{"b", "a", "a"}, []int64{1, 2, 1}), []int32{2, 1, 0}) {
		t.Error("by device, then hour")
	}
}
