package alert

import (
	"fmt"
	"testing"
	"time"
)

// TestDedupeRingGrows: the ring starts empty and grows as keys come, with
// keys expiring and wrapping around it meanwhile; every key stays
// remembered for its period, and at max the oldest is forgotten first.
func TestDedupeRingGrows(t *testing.T) {
	d := newDedupe(time.Minute, 500)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// 100 keys that expire, so that the ring's head moves before it grows
	for i := range 100 {
		if !d.fresh(fmt.Sprint("old", i), now) {
			t.Fatalf("old%d not fresh", i)
		}
	}
	now = now.Add(2 * time.Minute)
	for i := range 400 {
		if !d.fresh(fmt.Sprint("k", i), now.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("k%d not fresh", i)
		}
	}
	if len(d.fifo) >= 500 && d.n < 400 {
		t.Errorf("ring of %d for %d keys", len(d.fifo), d.n)
	}
	for i := range 400 {
		if d.fresh(fmt.Sprint("k", i), now.Add(time.Second)) {
			t.Fatalf("k%d fresh again within its period", i)
		}
	}
	// past max: the oldest (k0...) go first
	for i := range 200 {
		d.fresh(fmt.Sprint("new", i), now.Add(2*time.Second))
	}
	if d.n != 500 || len(d.fifo) != 500 {
		t.Errorf("%d keys in a ring of %d, want 500 in 500", d.n, len(d.fifo))
	}
	if !d.fresh("k0", now.Add(3*time.Second)) || d.fresh("k399", now.Add(3*time.Second)) {
		t.Error("at max, the oldest key should be forgotten first and the newest kept")
	}
}
