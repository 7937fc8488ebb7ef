package scancmd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/live"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// TestLiveLoopback captures on the loopback interface while a client sends
// a TLS ClientHello for a TikTok name to a local listener, then stops the
// capture as Ctrl-C would and checks the final report. It needs
// CAP_NET_RAW and skips without it.
func TestLiveLoopback(t *testing.T) {
	if h, err := live.Open("lo"); err != nil {
		t.Skipf("no AF_PACKET capture here (needs CAP_NET_RAW): %v", err)
	} else {
		h.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(&errb, nil)), Now: time.Now}
	done := make(chan int)
	go func() { done <- Run(ctx, env, []string{"--interface", "lo", "--no-progress"}) }()
	// The capture starts once the catalog is loaded (slow under -race):
	// keep connecting for a bounded while so that some are seen.
	for i := 0; i < 40; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(tlshello.BuildClientHello("www.tiktok.com", []string{"h2"}))
		time.Sleep(100 * time.Millisecond)
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitConcern || !strings.Contains(out.String(), "tiktok") || !strings.Contains(out.String(), "www.tiktok.com") {
			t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
		if strings.Contains(out.String(), "0 input(s)") || strings.Contains(out.String(), " 0 packets") {
			t.Fatalf("the header does not count the live input:\n%s", out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("live capture did not stop after cancel")
	}
}

func TestLiveFlowExportsRefused(t *testing.T) {
	var errb bytes.Buffer
	env := &cli.Env{Stdout: io.Discard, Stderr: &errb, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	code := Run(context.Background(), env, []string{"--interface", "lo", "--flow-exports"})
	if code != cli.ExitFailure || !strings.Contains(errb.String(), "outflow sensor --flow-listen") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
