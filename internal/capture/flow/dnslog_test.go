package flow

import (
	"net/netip"
	"testing"
	"time"
)

// A Zeek dns.log is read whole before its conn.log (scan.OrderInputs):
// a conversation early in the log must still find its name.
func TestDNSLogBeforeConnLog(t *testing.T) {
	tr := New(DefaultConfig(), nil)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("192.168.1.5")
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}) }
	// a working day of answers: 3,000 over 3 hours (one every 3.6 s)
	for i := range 3000 {
		tr.LearnDNS(client, addr(i), "tiktokv.com", "tiktokv.com", 300, t0.Add(time.Duration(i)*3600*time.Millisecond))
	}
	// the conn.log's first conversation, at t0+10s, to the first answer's address
	if n, _ := tr.DNSName(client, addr(0), t0.Add(10*time.Second)); n != "tiktokv.com" {
		t.Errorf("conversation at t0+10s to the address answered at t0: name %q, want tiktokv.com", n)
	}
}
