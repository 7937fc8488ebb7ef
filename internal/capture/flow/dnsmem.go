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
	return &dnsMemory{m: make(map[dnsKey]dnsEntry, 1024), max: max, grace: int64(grace)}
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
