package resolver

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// detached listens on addr and detaches the socket as the batch workers do.
func detached(t *testing.T, addr string) (*udpSock, netip.AddrPort) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("no UDP on %s here: %v", addr, err)
	}
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	sock, err := detachUDP(pc.(*net.UDPConn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	return sock, ap
}

func dialUDP(t *testing.T, network string, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

// expectDatagrams reads c's next datagrams and checks they are want.
func expectDatagrams(t *testing.T, c *net.UDPConn, want ...string) {
	t.Helper()
	buf := make([]byte, 100)
	for _, w := range want {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != w {
			t.Fatalf("got %q %v, want %q", buf[:n], err, w)
		}
	}
}

func readBatch(t *testing.T, mm *mmsg, want int) int {
	t.Helper()
	bufs := make([][]byte, batchSize)
	for i := range bufs {
		bufs[i] = make([]byte, 512)
	}
	got := 0
	for deadline := time.Now().Add(5 * time.Second); got < want && time.Now().Before(deadline); {
		n, err := mm.read(bufs[got:])
		if err != nil {
			continue // the receive timeout
		}
		got += n
	}
	return got
}

// TestBatchWriteSkipsRefusedDatagram: sendmmsg stops at a datagram the
// kernel refuses (here one too large for UDP); the others of the batch
// must still be sent.
func TestBatchWriteSkipsRefusedDatagram(t *testing.T) {
	sock, ap := detached(t, "127.0.0.1:0")
	c := dialUDP(t, "udp4", ap)
	for i := 0; i < 3; i++ {
		c.Write([]byte{byte(i)})
	}
	mm := newMmsg(sock)
	if n := readBatch(t, mm, 3); n != 3 {
		t.Fatalf("read %d datagrams, want 3", n)
	}
	err := mm.write([][]byte{[]byte("first"), make([]byte, 70000), []byte("third")}, []int{0, 1, 2})
	if err == nil {
		t.Error("the oversized datagram's error was not returned")
	}
	expectDatagrams(t, c, "first", "third")
}

// TestDetachedIPv6 answers an IPv6 client through both send paths: the
// batch and the miss path's single send.
func TestDetachedIPv6(t *testing.T) {
	sock, ap := detached(t, "[::1]:0")
	c := dialUDP(t, "udp6", ap)
	c.Write([]byte("q"))
	mm := newMmsg(sock)
	if n := readBatch(t, mm, 1); n != 1 {
		t.Fatalf("read %d datagrams", n)
	}
	from, ok := mm.from(0)
	if !ok || from.Addr() != netip.IPv6Loopback() {
		t.Fatalf("from %v %v", from, ok)
	}
	if err := mm.write([][]byte{[]byte("batch")}, []int{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := sock.WriteToUDPAddrPort([]byte("single"), from); err != nil {
		t.Fatal(err)
	}
	expectDatagrams(t, c, "batch", "single")
}

// TestDetachedCloseWakesReader: Close wakes a worker blocked in recvmmsg,
// and marks the socket closed, which is how the worker knows to stop.
func TestDetachedCloseWakesReader(t *testing.T) {
	sock, _ := detached(t, "127.0.0.1:0")
	mm := newMmsg(sock)
	done := make(chan struct{})
	go func() {
		bufs := [][]byte{make([]byte, 512)}
		mm.read(bufs)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond) // let it block
	sock.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked read did not return after Close")
	}
	if !sock.closed.Load() {
		t.Error("not marked closed")
	}
	if _, err := mm.read([][]byte{make([]byte, 512)}); err == nil {
		t.Error("read after Close succeeded")
	}
}
