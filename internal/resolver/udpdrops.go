package resolver

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Datagrams the kernel drops because a socket's receive buffer is full
// never reach the resolver, so no counter of its own can see them. Linux
// counts them per socket (sk_drops) in the last column of /proc/net/udp
// and /proc/net/udp6; the resolver reads that column for the inodes of
// its own sockets when the metrics are scraped, which costs the query
// path nothing (SO_RXQ_OVFL would put a control message on every
// datagram recvmmsg returns).

// udpDrops sums the drops of the resolver's UDP sockets.
type udpDrops struct {
	mu     sync.Mutex
	inodes map[uint64]bool
	last   uint64 // a counter never goes back, even if a socket is gone
}

func (d *udpDrops) add(inode uint64) {
	d.mu.Lock()
	if d.inodes == nil {
		d.inodes = map[uint64]bool{}
	}
	d.inodes[inode] = true
	d.mu.Unlock()
}

// total reads the drops now.
func (d *udpDrops) total() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.inodes) == 0 {
		return d.last, nil
	}
	n, err := readUDPDrops(func(ino uint64) bool { return d.inodes[ino] })
	d.last = max(d.last, n)
	return d.last, err
}

// parseProcUDP sums the drops column of the sockets of a /proc/net/udp
// table whose inode want accepts. Lines it cannot read are errors naming
// the line.
func parseProcUDP(r io.Reader, want func(inode uint64) bool) (uint64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), 4096)
	var sum uint64
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if line == 1 || len(f) == 0 {
			continue // the header
		}
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 13 {
			return sum, fmt.Errorf("line %d: %d fields, want 13", line, len(f))
		}
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return sum, fmt.Errorf("line %d: inode: %w", line, err)
		}
		if !want(ino) {
			continue
		}
		drops, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return sum, fmt.Errorf("line %d: drops: %w", line, err)
		}
		sum += drops
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("line %d: %w", line+1, err)
	}
	return sum, nil
}
