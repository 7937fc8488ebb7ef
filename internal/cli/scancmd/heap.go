package scancmd

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// heapBudget is the soft memory limit a scan of files sets for the Go
// runtime while its live heap is small: the collector then runs more often
// as the heap nears it, instead of letting it grow to twice the live heap
// (GOGC=100). The scan also turns GOGC's own trigger off: with the limit
// at most twice the live heap once that is past half the budget
// (limitFor), the limit is what starts a collection then anyway, and
// below that a collection only spent processor time and, scanning the
// binary's 5.6 MB of globals for the first time, page faults (on the
// 40-copy capture of bench/scan/distinct.sh: two collections, 9 % more
// CPU-seconds and 500 more faults, and a peak 1 MB higher, 40.6 MB
// against 39.5). The binary's own pages take about 22 MB of resident
// memory besides; with a live heap of 18-20 MB (bench/scan/distinct.sh
// 400: the tracker's tables and 4,096 devices' sums) the peak was 83 MB
// without a limit and 62 MB with this one, in the same CPU-seconds
// (docs/benchmarks.md, "Distinct flows").
const heapBudget = 36 << 20

// limitFor is the limit for a live heap: the budget, or once the live
// heap is past about half of it, half again the live heap and 4 MiB for
// the runtime's own memory, and past 64 MiB twice the live heap, what
// GOGC=100 lets the heap grow to, so that a scan that holds more does not
// spend its time collecting.
func limitFor(budget, live int64) int64 {
	if live > 64<<20 {
		return 2 * live
	}
	return max(budget, live+live/2+4<<20)
}

// The limit is the process's: scans at once in one process (tests, a
// program running several) share one tuner, set by the first and put
// back by the last.
var budget struct {
	sync.Mutex
	users   int
	prev    int64
	prevGC  int
	ownGC   bool // GOGC's trigger turned off, prevGC to put back
	stopped *atomic.Bool
}

// startHeapBudget sets the limit, turns GOGC's trigger off, and after
// every collection raises the limit with the live heap; stop puts back
// the limit and the GOGC there were. A limit the user set (GOMEMLIMIT) is
// left alone, and so is the GOGC then and when the user set it.
func startHeapBudget(limit int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	budget.Lock()
	defer budget.Unlock()
	budget.users++
	if budget.users == 1 {
		budget.prev = debug.SetMemoryLimit(limit)
		if budget.ownGC = os.Getenv("GOGC") == ""; budget.ownGC {
			budget.prevGC = debug.SetGCPercent(-1)
		}
		budget.stopped = new(atomic.Bool)
		tune(limit, budget.stopped)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			budget.Lock()
			defer budget.Unlock()
			budget.users--
			if budget.users == 0 {
				budget.stopped.Store(true)
				debug.SetMemoryLimit(budget.prev)
				if budget.ownGC {
					debug.SetGCPercent(budget.prevGC)
				}
			}
		})
	}
}

// tune raises the limit with the live heap after each collection until
// stopped: a finalizer runs after the collection that found its object
// unreachable, one per cycle, rearmed each time.
func tune(limit int64, stopped *atomic.Bool) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		x := new([2]*int)
		runtime.SetFinalizer(x, func(*[2]*int) {
			// under the lock that stop takes: a limit set after stop
			// put the old one back would outlive the scan
			budget.Lock()
			defer budget.Unlock()
			if stopped.Load() {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetMemoryLimit(limitFor(limit, int64(sample[0].Value.Uint64())))
			}
			arm()
		})
	}
	arm()
}
