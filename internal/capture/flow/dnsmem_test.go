package flow

import (
	"net/netip"
	"testing"
	"time"
)

// Answers are swept an hour after they expire, each time the map has
// doubled, and the map is made anew once it holds a quarter of what it
// held; an answer still in its TTL, or expired less than an hour before,
// is still found as of a time it was valid.
func TestDNSMemorySweeps(t *testing.T) {
	d := newDNSMemory(1_000_000, 10*time.Minute)
	day := int64(24 * time.Hour)
	client := netip.MustParseAddr("192.168.1.5")
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}) }
	for i := range 5000 {
		d.add(client, addr(i), "old.example", "", 60, 0)
	}
	// per address, the client's answer and one for any client; the
	// sweeps at 4,096 and 8,192 found nothing expired
	if len(d.m) != 10000 || d.high != 10000 || d.next != 16384 {
		t.Fatalf("%d answers, high %d, next sweep at %d", len(d.m), d.high, d.next)
	}
	d.add(client, addr(9000), "recent.example", "", 0, day) // expires with its grace at day+10m
	d.add(client, addr(9001), "live.example", "", 3600, day)
	d.sweep(day + 11*int64(time.Minute))
	if len(d.m) != 4 || d.high != 4 || d.next != dnsMinSweep {
		t.Errorf("after the sweep: %d answers, high %d (want the two addresses' 4, the map made anew), next at %d", len(d.m), d.high, d.next)
	}
	if n, _, ok := d.lookup(client, addr(9001), day+time.Minute.Nanoseconds()); !ok || n != "live.example" {
		t.Errorf("a live answer: %q %v", n, ok)
	}
	if n, _, ok := d.lookup(client, addr(9000), day); !ok || n != "recent.example" {
		t.Errorf("an answer expired less than an hour before the sweep, as of its time: %q %v", n, ok)
	}
	// a day later, new answers sweep the old ones out as they come
	for i := range 2100 {
		d.add(client, addr(i), "new.example", "", 60, 2*day)
	}
	if len(d.m) > 4200 || d.lookupOK(client, addr(9000), day) {
		t.Errorf("%d answers; the one of the day before still there: the map was not swept", len(d.m))
	}
}

func (d *dnsMemory) lookupOK(client, addr netip.Addr, at int64) bool {
	_, _, ok := d.lookup(client, addr, at)
	return ok
}
