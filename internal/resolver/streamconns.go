package resolver

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// streamTable admits TCP and DoT connections and reaps idle ones. One
// source must not hold the connection table: at most MaxTCPPerClient
// connections come from one address (IPv6: one /64, which a single host
// holds). And the idle timeout shortens as the table fills, as in
// unbound's tcp-idle-timeout: at half full an idle connection gets a
// hundredth of TCPIdle, at 65 % a five-hundredth, at 80 % the floor; and
// the connections already waiting get the shorter timeout at once, so
// that idle connections opened before the pressure make room too.
type streamTable struct {
	max, perClient int
	idle           time.Duration
	refusedLimit   func() // counters of the two reasons to refuse
	refusedClient  func()

	mu       sync.Mutex
	open     int
	level    int // pressure level the waiting connections were last set to
	byClient map[netip.Addr]int
	conns    map[*streamConn]struct{}
}

// streamIdleFloor is the shortest idle timeout under pressure: long enough
// for a client on the network to send its first query after connecting.
const streamIdleFloor = 20 * time.Millisecond

// streamConn is an admitted connection.
type streamConn struct {
	net.Conn
	key netip.Addr // the client as counted against MaxTCPPerClient

	mu      sync.Mutex // orders the reaper's deadline against the reader's
	waiting bool       // between queries (or before the first)
	last    time.Time  // when it started waiting
}

func newStreamTable(max, perClient int, idle time.Duration, refusedLimit, refusedClient func()) *streamTable {
	return &streamTable{max: max, perClient: perClient, idle: idle, refusedLimit: refusedLimit, refusedClient: refusedClient,
		byClient: map[netip.Addr]int{}, conns: map[*streamConn]struct{}{}}
}

// clientKey is the address a connection counts against: IPv4 as is,
// IPv6 by its /64.
func clientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip := ta.AddrPort().Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// admit registers c, or refuses it (false) when the table or the client's
// share is full; the caller closes a refused connection.
func (t *streamTable) admit(c net.Conn, now time.Time) (*streamConn, bool) {
	key := clientKey(c.RemoteAddr())
	t.mu.Lock()
	if t.open >= t.max {
		t.mu.Unlock()
		t.refusedLimit()
		return nil, false
	}
	if t.perClient > 0 && t.byClient[key] >= t.perClient {
		t.mu.Unlock()
		t.refusedClient()
		return nil, false
	}
	sc := &streamConn{Conn: c, key: key, waiting: true, last: now}
	t.open++
	t.byClient[key]++
	t.conns[sc] = struct{}{}
	if lv := t.levelOf(t.open); lv > t.level {
		// Pressure rose: the waiting connections get the shorter timeout
		// now, not when their current one ends. At most max connections,
		// and only when the level changes.
		t.level = lv
		d := t.idleAt(lv)
		for o := range t.conns {
			o.mu.Lock()
			if o.waiting {
				o.SetReadDeadline(o.last.Add(d))
			}
			o.mu.Unlock()
		}
	} else if lv < t.level {
		t.level = lv
	}
	t.mu.Unlock()
	return sc, true
}

// release forgets a closed connection.
func (t *streamTable) release(sc *streamConn) {
	t.mu.Lock()
	t.open--
	if n := t.byClient[sc.key] - 1; n > 0 {
		t.byClient[sc.key] = n
	} else {
		delete(t.byClient, sc.key)
	}
	delete(t.conns, sc)
	t.level = min(t.level, t.levelOf(t.open))
	t.mu.Unlock()
}

// levelOf is the pressure level with open connections: 0 below half the
// table, then 1, 2 and 3 as less than 50, 35 and 20 % of it is free.
func (t *streamTable) levelOf(open int) int {
	free := (t.max - open) * 100
	switch {
	case free > 50*t.max:
		return 0
	case free > 35*t.max:
		return 1
	case free > 20*t.max:
		return 2
	}
	return 3
}

func (t *streamTable) idleAt(level int) time.Duration {
	d := t.idle
	switch level {
	case 1:
		d /= 100
	case 2:
		d /= 500
	case 3:
		d = 0
	}
	return max(d, min(t.idle, streamIdleFloor))
}

// idleNow is the idle timeout for a connection that starts waiting now.
func (t *streamTable) idleNow() time.Duration {
	t.mu.Lock()
	lv := t.levelOf(t.open)
	t.mu.Unlock()
	return t.idleAt(lv)
}

// counts are the open connections and the current idle timeout, for the
// metrics.
func (t *streamTable) counts() (open int, idle time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open, t.idleAt(t.levelOf(t.open))
}

// wait marks sc waiting for its next query from now, with the timeout of
// the current pressure.
func (t *streamTable) wait(sc *streamConn, now time.Time) {
	d := t.idleNow()
	sc.mu.Lock()
	sc.waiting, sc.last = true, now
	sc.SetReadDeadline(now.Add(d))
	sc.mu.Unlock()
}

// busy marks sc reading a query: the reaper leaves its deadline alone.
func (sc *streamConn) busy(now time.Time) {
	sc.mu.Lock()
	sc.waiting = false
	sc.SetReadDeadline(now.Add(streamRead))
	sc.mu.Unlock()
}
