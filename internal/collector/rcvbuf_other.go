//go:build !linux

package collector

import "net"

// setReadBuffer asks for n bytes of receive buffer.
func setReadBuffer(u *net.UDPConn, n int) { _ = u.SetReadBuffer(n) }
