package flow

import (
	"net/netip"
	"time"
)

// dnsMemory remembers, per client, which names resolved to which address,
// with the answer's TTL (plus a grace period: clients keep using addresses
// after the TTL). A second entry under the zero client remembers the name
// for any client, for devices whose own DNS the capture did not see.
type dnsMemory struct {
	m     map[dnsKey]dnsEntry
	max   int
	grace int64
	// next is the size of m at which to sweep it; high the most answers
	// m has held since it was made.
	next, high int
	// logs: answers have come from logs (LearnDNS). A Zeek dns.log is
	// read whole before its conn.log, and a followed log reports a
	// connection when it ends, so lookups may lag the newest answer by
	// hours: such a memory is not swept, only bounded by max.
	logs bool
	// Stats
	added, evicted uint64
}

type dnsKey struct{ client, addr netip.Addr }

type dnsEntry struct {
	name, query string
	expires     int64
}

func newDNSMemory(max int, grace time.Duration) *dnsMemory {
	if max <= 0 {
		max = 200_000
	}
	return &dnsMemory{m: make(map[dnsKey]dnsEntry, 1024), max: max, grace: int64(grace), next: dnsMinSweep}
}

// add records that client learned addr for name (asked as query).
func (d *dnsMemory) add(client, addr netip.Addr, name, query string, ttl uint32, now int64) {
	e := dnsEntry{name: name, query: query, expires: now + int64(ttl)*int64(time.Second) + d.grace}
	if query == name {
		e.query = ""
	}
	if len(d.m) >= d.max {
		d.expire(now)
		for k := range d.m { // still full: drop an arbitrary entry
			if len(d.m) < d.max {
				break
			}
			delete(d.m, k)
			d.evicted++
		}
	}
	d.m[dnsKey{client, addr}] = e
	d.m[dnsKey{netip.Addr{}, addr}] = e
	d.added++
	d.high = max(d.high, len(d.m))
	if len(d.m) >= d.next && !d.logs {
		d.sweep(now)
	}
}

func (d *dnsMemory) lookup(client, addr netip.Addr, now int64) (name, query string, ok bool) {
	if e, found := d.m[dnsKey{client, addr}]; found && now <= e.expires {
		return e.name, e.query, true
	}
	if e, found := d.m[dnsKey{netip.Addr{}, addr}]; found && now <= e.expires {
		return e.name, e.query, true
	}
	return "", "", false
}

// Answers learnt from packets are swept out an hour after they expire,
// each time the map has doubled since the last sweep (so that a sweep
// costs a constant per answer added). Lookups ask as of a flow's last
// packet, which may be before the latest one by up to the flow timeouts
// (minutes), or a little more in a capture not quite in time order: an
// hour is past either. Answers from logs are not swept (dnsMemory.logs).
const (
	dnsKeep     = time.Hour
	dnsMinSweep = 4096 // answers in the map before the first sweep
)

// sweep drops the answers that expired before now by more than dnsKeep,
// and makes the map anew once it holds under a quarter of what it held
// (a Go map keeps its size as entries go). Without it, a long capture of
// many clients (bench/scan/distinct.sh's, 400 days of copies) kept every
// answer until the memory was half full (max).
func (d *dnsMemory) sweep(now int64) {
	cut := now - int64(dnsKeep)
	for k, e := range d.m {
		if e.expires < cut {
			delete(d.m, k)
		}
	}
	if len(d.m) < d.high/4 {
		m := make(map[dnsKey]dnsEntry, len(d.m))
		for k, e := range d.m {
			m[k] = e
		}
		d.m, d.high = m, len(m)
	}
	d.next = max(dnsMinSweep, 2*len(d.m))
}

func (d *dnsMemory) expire(now int64) {
	if len(d.m) < d.max/2 {
		return
	}
	for k, e := range d.m {
		if now > e.expires {
			delete(d.m, k)
		}
	}
}
