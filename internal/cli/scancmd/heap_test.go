package scancmd

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The limit is the budget while the live heap is about half of it, then
// half again the live heap and the runtime's memory, then twice the
// live heap.
func TestLimitFor(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct{ live, want int64 }{
		{0, 36 * mb},
		{20 * mb, 36 * mb},
		{22 * mb, 37 * mb},
		{64 * mb, 100 * mb},
		{500 * mb, 1000 * mb},
	} {
		if got := limitFor(36*mb, tc.live); got != tc.want {
			t.Errorf("live %d MB: limit %d MB, want %d", tc.live/mb, got/mb, tc.want/mb)
		}
	}
}

// gcPercent is GOGC as the runtime has it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// startHeapBudget sets the budget and turns GOGC's trigger off, raises
// the limit after a collection when the live heap asks for more, and
// stop puts back the limit and GOGC before; a GOMEMLIMIT or GOGC of the
// user's is left alone.
func TestHeapBudget(t *testing.T) {
	t.Setenv("GOGC", "") // as when unset: the test runner may have one
	before, beforeGC := debug.SetMemoryLimit(-1), gcPercent()
	stop := startHeapBudget(1 << 10) // under any live heap
	if got := debug.SetMemoryLimit(-1); got != 1<<10 {
		t.Errorf("limit %d, want the budget", got)
	}
	if got := gcPercent(); got != -1 {
		t.Errorf("GOGC %d during a scan, want off (-1)", got)
	}
	// the finalizer runs on its own goroutine after a collection
	for i := 0; i < 1000 && debug.SetMemoryLimit(-1) == 1<<10; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := debug.SetMemoryLimit(-1); got <= 4<<20 {
		t.Errorf("limit %d after collections: not raised with the live heap", got)
	}
	// a second scan at once shares it; the last to stop puts it back
	stop2 := startHeapBudget(1 << 10)
	stop()
	stop() // twice: no effect
	if got := debug.SetMemoryLimit(-1); got == before {
		t.Errorf("the first scan to stop put back the limit while another ran")
	}
	stop2()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after stop, want %d", got, before)
	}
	if got := gcPercent(); got != beforeGC {
		t.Errorf("GOGC %d after stop, want %d", got, beforeGC)
	}
	t.Setenv("GOGC", "200")
	stop = startHeapBudget(1 << 10)
	if got := gcPercent(); got != beforeGC {
		t.Errorf("GOGC %d with GOGC set, want it left at %d", got, beforeGC)
	}
	stop()
	t.Setenv("GOMEMLIMIT", "1GiB")
	stop = startHeapBudget(1 << 10)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d with GOMEMLIMIT set, want it left at %d", got, before)
	}
	stop()
}
