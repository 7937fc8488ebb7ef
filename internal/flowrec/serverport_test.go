package flowrec

import "testing"

func TestLikelyServerPort(t *testing.T) {
	for _, tc := range []struct {
		port uint16
		want bool
	}{
		{0, false}, {53, true}, {443, true}, {1023, true}, {1024, false},
		{1883, true}, {8883, true}, {5222, true}, {5223, true}, {5228, true}, {3478, true},
		{8000, true}, {8080, true}, {8443, true},
		{4000, false}, {40000, false}, {49152, false}, {65535, false},
	} {
		if got := LikelyServerPort(tc.port); got != tc.want {
			t.Errorf("LikelyServerPort(%d) = %v, want %v", tc.port, got, tc.want)
		}
	}
}
