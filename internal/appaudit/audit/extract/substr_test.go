package extract

import (
	"bytes"
	"slices"
	"testing"
)

func TestSubIndex(t *testing.T) {
	needles := [][]byte{[]byte("/system/xbin/su"), []byte("goldfish"), []byte("su"), []byte("gold"), []byte("TracerPid")}
	x := newSubIndex(needles)
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"/system/xbin/su", []int{0, 2}},
		{"ro.hardware=goldfish", []int{1, 3}},
		{"TracerPid:\t0", []int{4}},
		{"gol", nil},
		{"", nil},
		{"nothing here", nil},
	} {
		var got []int
		x.scan([]byte(tc.in), func(i int) {
			if !slices.Contains(got, i) {
				got = append(got, i)
			}
		})
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzSubIndex: the index finds exactly what bytes.Contains finds.
func FuzzSubIndex(f *testing.F) {
	f.Add([]byte("x/system/xbin/su"), []byte("/system/xbin/su"))
	f.Add([]byte("ranchu"), []byte("ran"))
	f.Fuzz(func(t *testing.T, s, needle []byte) {
		if len(needle) == 0 {
			return
		}
		x := newSubIndex([][]byte{needle, []byte("goldfish")})
		found := false
		x.scan(s, func(i int) {
			if i == 0 {
				found = true
			}
		})
		if found != bytes.Contains(s, needle) {
			t.Fatalf("scan %v, Contains %v for %q in %q", found, !found, needle, s)
		}
	})
}
