package collector

import (
	"context"
	"os"
	"syscall"
	"testing"
)

// As root (CAP_NET_ADMIN) the receive buffer passes net.core.rmem_max:
// the kernel reports twice what was asked (its bookkeeping).
func TestReadBufferPastCap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_NET_ADMIN to pass rmem_max")
	}
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.ReadBuffer = 24 << 20
	c := New(cfg, Deps{})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.conns[0].SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if got < 24<<20 {
		t.Errorf("receive buffer %d bytes, want at least %d", got, 24<<20)
	}
}
