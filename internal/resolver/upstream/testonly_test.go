package upstream

import "time"

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// RTT is the smoothed round-trip time.
func (u *Upstream) RTT() time.Duration { return time.Duration(u.rtt.Load()) }
