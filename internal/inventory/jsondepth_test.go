package inventory

import "testing"

// The value ends at its own closing brace: braces and quotes inside
// strings, escaped quotes and nested arrays do not count.
func TestJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int // offset just past the value, -1 if it does not end
	}{
		{`{"a":1} tail`, 7},
		{`{"s":"}{","t":"\"}"}x`, 20},
		{`[{"a":[1,2]},{}]`, 16},
		{`{"open":"\\"}`, 13},
		{`{"never":"}"`, -1},
	} {
		var j JSONDepth
		got := -1
		for i := 0; i < len(tc.in); i++ {
			if j.Step(tc.in[i]) {
				got = i + 1
				break
			}
		}
		if got != tc.want {
			t.Errorf("%s: ends at %d, want %d", tc.in, got, tc.want)
		}
	}
}
