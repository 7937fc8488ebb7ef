//go:build !unix

package resolver

import "time"

// processCPU is not measured here: the benchmarks report no CPU time.
func processCPU() (time.Duration, bool) { return 0, false }
