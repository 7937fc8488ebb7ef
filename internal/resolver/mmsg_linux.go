//go:build linux

package resolver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgSupported says serveUDPBatch can run here.
const mmsgSupported = true

// reusePort sets SO_REUSEPORT, so that each UDP worker has a socket.
var reusePort = func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// udpSock is a UDP socket taken out of Go's network poller, in blocking
// mode, for the batch workers. In the poller, every datagram sent wakes
// the poller's epoll set for write space (Go registers sockets for
// EPOLLOUT too, edge-triggered) and every quiet moment parks a worker
// goroutine and wakes it through epoll; on loopback at 100,000 q/s that
// costs more CPU than answering the queries. Blocked in recvmmsg, a worker
// is woken by the kernel directly, as in unbound's threads.
type udpSock struct {
	f      *os.File
	rc     syscall.RawConn
	once   sync.Once
	closed atomic.Bool // set before the shutdown: workers stop on it
}

// sockRecvTimeout bounds a blocked read, so that a worker notices Close
// even if shutdown(2) did not wake it.
const sockRecvTimeout = time.Second

// detachUDP moves conn's socket out of the poller: it duplicates the
// descriptor, closes conn (which removes it from epoll) and sets the copy
// blocking with a receive timeout.
func detachUDP(conn *net.UDPConn) (*udpSock, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	conn.Close()
	tv := unix.NsecToTimeval(sockRecvTimeout.Nanoseconds())
	if err := errors.Join(unix.SetNonblock(fd, false), unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "udp") // blocking: os keeps it out of the poller
	frc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &udpSock{f: f, rc: frc}, nil
}

// Close wakes the workers blocked in recvmmsg and closes the socket once
// no call is using it (os.File counts them).
func (u *udpSock) Close() error {
	var err error
	u.once.Do(func() {
		u.closed.Store(true)
		_ = u.rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RD) })
		err = u.f.Close()
	})
	return err
}

// WriteToUDPAddrPort sends one answer: the miss path, which allocates
// anyway (the sockaddr).
func (u *udpSock) WriteToUDPAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	var sa unix.Sockaddr
	if a := ap.Addr(); a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
		if id, err := strconv.ParseUint(a.Zone(), 10, 32); err == nil {
			sa6.ZoneId = uint32(id) // a link-local client: from() keeps the scope as its number
		}
		sa = sa6
	}
	var serr error
	err := u.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, sa)
		return true
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// mmsg moves up to batchSize datagrams a system call with recvmmsg and
// sendmmsg, into buffers and address slots it owns, so that nothing is
// allocated per datagram (golang.org/x/net's ReadBatch allocates each
// source address). The socket is blocking: a read waits for the first
// datagram and returns with what has arrived by then (MSG_WAITFORONE).
type mmsg struct {
	rc     syscall.RawConn
	hdrs   [batchSize]unix.Mmsghdr
	iovs   [batchSize]unix.Iovec
	addrs  [batchSize]unix.RawSockaddrInet6 // large enough for IPv4 too
	off    int                              // first header of a send
	count  int
	n      int
	err    error
	readFn func(fd uintptr) bool
	sendFn func(fd uintptr) bool
}

func newMmsg(sock *udpSock) *mmsg {
	m := &mmsg{rc: sock.rc}
	// Each call is first made as a raw system call that does not wait
	// (MSG_DONTWAIT), which the Go scheduler does not see: under load
	// there is nearly always a datagram to read and room to send, and a
	// worker that stays out of the scheduler's syscall state is not
	// retaken by the system monitor, which otherwise polls every 20 µs to
	// hand the P of a worker in a long sendmmsg to another thread (its
	// wake-ups were 13 % of the resolver's CPU samples under dnsperf on
	// the 2-core VM). Only when it would block is the call made again as
	// an ordinary blocking system call. At a fixed 40,000 q/s of cache
	// hits: 9.1-11.1 CPU-µs a query instead of 12.3-13.0, 2.2k instead
	// of 2.8k nanosleeps a second.
	m.readFn = func(fd uintptr) bool {
		hdrs := uintptr(unsafe.Pointer(&m.hdrs[0]))
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, hdrs, uintptr(m.count), unix.MSG_WAITFORONE|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN {
			r, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, hdrs, uintptr(m.count), unix.MSG_WAITFORONE, 0, 0)
		}
		m.n, m.err = int(r), nil
		if e != 0 {
			m.n, m.err = 0, e // EAGAIN: the receive timeout; EINTR: a signal
		}
		return true
	}
	m.sendFn = func(fd uintptr) bool {
		hdrs := uintptr(unsafe.Pointer(&m.hdrs[m.off]))
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, hdrs, uintptr(m.count), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN {
			r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, fd, hdrs, uintptr(m.count), 0, 0, 0)
		}
		m.n, m.err = int(r), nil
		if e != 0 {
			m.n, m.err = 0, e
		}
		return true
	}
	return m
}

func (m *mmsg) setup(i int, b []byte) {
	m.iovs[i].Base = unsafe.SliceData(b)
	m.iovs[i].SetLen(len(b))
	h := &m.hdrs[i].Hdr
	h.Name = (*byte)(unsafe.Pointer(&m.addrs[i]))
	h.Namelen = uint32(unsafe.Sizeof(m.addrs[i]))
	h.Iov = &m.iovs[i]
	h.SetIovlen(1)
	h.Control, h.Controllen, h.Flags = nil, 0, 0
	m.hdrs[i].Len = 0
}

// read fills bufs (each at least one byte) and returns how many
// datagrams arrived; size(i) and from(i) describe datagram i.
func (m *mmsg) read(bufs [][]byte) (int, error) {
	for i, b := range bufs {
		m.setup(i, b)
	}
	m.count = len(bufs)
	if err := m.rc.Read(m.readFn); err != nil {
		return 0, err
	}
	return m.n, m.err
}

// size is the length of datagram i; truncated datagrams report 0.
func (m *mmsg) size(i int) int {
	if m.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
		return 0
	}
	return int(m.hdrs[i].Len)
}

// from is the source address of datagram i.
func (m *mmsg) from(i int) (netip.AddrPort, bool) {
	sa := &m.addrs[i]
	b := (*[28]byte)(unsafe.Pointer(sa))
	port := binary.BigEndian.Uint16(b[2:4])
	switch sa.Family {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), true
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 { // link-local: the answer must go out the same interface
			a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(a, port), true
	}
	return netip.AddrPort{}, false
}

// write sends bufs[k] to the source of datagram src[k] of the last read
// (src increasing, src[k] >= k), all of them, in as few calls as it can;
// a datagram the kernel refuses is skipped, and the first such error
// returned after the others are sent.
func (m *mmsg) write(bufs [][]byte, src []int) error {
	for k := range bufs {
		if src[k] != k {
			m.addrs[k] = m.addrs[src[k]] // src[k] >= k: not yet overwritten
		}
		m.setup(k, bufs[k]) // the full sockaddr length: Linux reads the family's part
	}
	var first error
	for sent := 0; sent < len(bufs); {
		m.off, m.count = sent, len(bufs)-sent
		if err := m.rc.Write(m.sendFn); err != nil {
			return err // the socket is closed
		}
		if m.err == unix.EINTR {
			continue
		}
		if m.err != nil || m.n <= 0 {
			// sendmmsg stops at the first datagram it cannot send (a
			// firewall's EPERM, an unreachable or spoofed source): skip
			// that one, so that it does not cost the batch's other clients
			// their answers.
			if first == nil {
				first = m.err
			}
			sent++
			continue
		}
		sent += m.n
	}
	return first
}
