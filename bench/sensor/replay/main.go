// Command replay sends IPFIX export datagrams over UDP at a fixed record
// rate for a fixed time, the same datagrams to every target, for
// bench/sensor/run.sh: the load a router at a busy site puts on a flow
// collector. It cycles through -flows distinct flows (device, peer, ports),
// one record per flow each time round, so that a collector that sums per
// flow holds that many at once; peers are spread over the whole public
// IPv4 space, so that attribution looks every one of them up.
//
// It is a benchmark tool: bounded in count and time, loopback only by
// intent (it sends wherever -to says), never part of the outflow binary.
//
//	go run ./bench/sensor/replay -to 127.0.0.1:2055 -to 127.0.0.1:2056 -rate 100000 -duration 60s -flows 200000
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/ingest/netflow/ipfixtest"
)

type targets []string

func (t *targets) String() string     { return strings.Join(*t, ",") }
func (t *targets) Set(s string) error { *t = append(*t, s); return nil }

const domain = 1

func main() {
	var to targets
	flag.Var(&to, "to", "UDP address to send to (repeatable; each gets every datagram)")
	rate := flag.Int("rate", 100_000, "records per second")
	dur := flag.Duration("duration", 10*time.Second, "how long to send (at most 10m)")
	flows := flag.Int("flows", 200_000, "distinct flows cycled through")
	devices := flag.Int("devices", 5000, "distinct inside addresses (10.0.0.0/8)")
	perDgram := flag.Int("records", 30, "records per datagram (30 makes 1,390-byte datagrams)")
	flag.Parse()
	if len(to) == 0 || *rate <= 0 || *flows <= 0 || *devices <= 0 || *perDgram <= 0 || *perDgram > ipfixtest.MaxRecords || *dur > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "replay: need -to, a positive -rate, -flows, -devices, -records ≤", ipfixtest.MaxRecords, "and -duration ≤ 10m")
		os.Exit(1)
	}
	var conns []*net.UDPConn
	for _, a := range to {
		ua, err := net.ResolveUDPAddr("udp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		c, err := net.DialUDP("udp", nil, ua)
		if err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		_ = c.SetWriteBuffer(8 << 20)
		conns = append(conns, c)
	}
	send := func(b []byte) {
		for _, c := range conns {
			_, _ = c.Write(b) // loopback: a full socket buffer is the receiver's loss, counted there
		}
	}

	var seq uint32
	buf := make([]byte, 0, 1500)
	tmpl := ipfixtest.TemplateSet()
	start := time.Now()
	end := start.Add(*dur)
	const tick = time.Millisecond
	body := make([]byte, 0, 1500)
	sent, dgrams, i := 0, 0, 0
	for now := time.Now(); now.Before(end); now = time.Now() {
		due := now.Sub(start).Seconds()*float64(*rate) - float64(sent)
		for due >= 1 {
			n := min(*perDgram, int(due))
			if dgrams%1000 == 0 { // templates refreshed as exporters do
				send(ipfixtest.Message(buf[:0], uint32(now.Unix()), seq, domain, tmpl))
			}
			body = ipfixtest.DataSet(body[:0], i, n, *flows, *devices, uint64(now.UnixMilli()))
			i += n
			send(ipfixtest.Message(buf[:0], uint32(now.Unix()), seq, domain, body))
			seq += uint32(n)
			sent += n
			dgrams++
			due -= float64(n)
		}
		time.Sleep(tick)
	}
	el := time.Since(start)
	fmt.Printf("sent %d records in %d datagrams to %d target(s) in %.1f s (%.0f records/s)\n", sent, dgrams, len(conns), el.Seconds(), float64(sent)/el.Seconds())
}
