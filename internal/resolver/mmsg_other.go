//go:build !linux

package resolver

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// mmsgSupported says serveUDPBatch can run here: recvmmsg and sendmmsg
// are Linux system calls.
const mmsgSupported = false

// reusePort is nil: the UDP workers share one socket.
var reusePort func(network, address string, c syscall.RawConn) error

type mmsg struct{}

type udpSock struct{ closed atomic.Bool }

func detachUDP(*net.UDPConn) (*udpSock, error) { return nil, errors.New("recvmmsg: Linux only") }

func (*udpSock) Close() error { return errors.ErrUnsupported }

func (*udpSock) WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error) {
	return 0, errors.ErrUnsupported
}

func newMmsg(*udpSock) *mmsg { return &mmsg{} }

func (m *mmsg) read([][]byte) (int, error)      { return 0, errors.ErrUnsupported }
func (m *mmsg) size(int) int                    { return 0 }
func (m *mmsg) from(int) (netip.AddrPort, bool) { return netip.AddrPort{}, false }
func (m *mmsg) write([][]byte, []int) error     { return errors.ErrUnsupported }
