//go:build unix

package resolver

import (
	"syscall"
	"time"
)

// processCPU is the process's user and system CPU time so far: the
// benchmarks' measure of the query log's writer goroutine, which runs
// beside the loop being timed.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
