//go:build !unix

package sensor_test

import "math"

// cpuSeconds is not measured here: records/cpu-s reads NaN.
func cpuSeconds() float64 { return math.NaN() }
