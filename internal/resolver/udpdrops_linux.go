//go:build linux

package resolver

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// udpDropsSupported says the kernel's drop counts can be read here.
const udpDropsSupported = true

// socketInode is the inode that names a socket in /proc/net/udp.
func socketInode(rc syscall.RawConn) (uint64, error) {
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		return 0, err
	}
	return st.Ino, serr
}

// readUDPDrops sums the drops of the sockets want accepts, IPv4 and IPv6.
func readUDPDrops(want func(uint64) bool) (uint64, error) {
	var sum uint64
	var errs []error
	for _, p := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(p)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) { // no IPv6 here
				errs = append(errs, err)
			}
			continue
		}
		n, err := parseProcUDP(f, want)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
		sum += n
	}
	return sum, errors.Join(errs...)
}
