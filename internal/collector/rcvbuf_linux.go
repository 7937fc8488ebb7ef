package collector

import (
	"net"
	"syscall"
)

// setReadBuffer asks for n bytes of receive buffer past net.core.rmem_max
// (SO_RCVBUFFORCE, allowed with CAP_NET_ADMIN), else up to the cap.
func setReadBuffer(u *net.UDPConn, n int) {
	rc, err := u.SyscallConn()
	if err == nil {
		var serr error
		err = rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
		})
		if err == nil && serr == nil {
			return
		}
	}
	_ = u.SetReadBuffer(n)
}
