package ratelimit

import (
	"net/netip"
	"testing"
)

func TestBucket(t *testing.T) {
	l := New(Config{Rate: 10, Burst: 5, Clients: 16})
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	const sec = int64(1e9)
	n := 0
	for i := 0; i < 20; i++ {
		if l.Allow(a, 0) {
			n++
		}
	}
	if n != 5 {
		t.Errorf("burst allowed %d, want 5", n)
	}
	if !l.Allow(b, 0) {
		t.Error("another client was limited")
	}
	if l.Allow(a, sec/20) {
		t.Error("half a token was enough")
	}
	if !l.Allow(a, sec/10+sec/20) {
		t.Error("no token after 100 ms at 10/s")
	}
	if got := l.Limited(); got != 16 {
		t.Errorf("Limited = %d, want 16", got)
	}
	// Refilled up to the burst only.
	n = 0
	for i := 0; i < 20; i++ {
		if l.Allow(a, 100*sec) {
			n++
		}
	}
	if n != 5 {
		t.Errorf("after a long pause allowed %d, want 5", n)
	}
}

func TestIPv6Prefix(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 1, Clients: 16, V6Prefix: 56})
	if !l.Allow(netip.MustParseAddr("2001:db8:0:1::1"), 0) {
		t.Fatal("first query limited")
	}
	if l.Allow(netip.MustParseAddr("2001:db8:0:2::99"), 0) {
		t.Error("same /56 not limited together")
	}
	if !l.Allow(netip.MustParseAddr("2001:db8:1::1"), 0) {
		t.Error("another /56 limited")
	}
}

func TestDisabled(t *testing.T) {
	var l *Limiter = New(Config{})
	if l != nil || !l.Allow(netip.MustParseAddr("192.0.2.1"), 0) || l.Limited() != 0 {
		t.Error("disabled limiter limits")
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(DefaultConfig())
	a := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	var now int64
	for b.Loop() {
		now += 1e6
		l.Allow(a, now)
	}
}
