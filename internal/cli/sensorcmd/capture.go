package sensorcmd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sensor"
)

// ethHandle is what a live capture reads packets from: pcapgo's
// EthernetHandle, an AF_PACKET socket, on Linux.
type ethHandle interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	SetBPF([]bpf.RawInstruction) error
	Close() error
}

// capture is one interface feeding a packet tracker whose finished flows,
// and whose active flows' growth at each flush, go to the sensor.
type capture struct {
	iface, site string
	h           ethHandle
	mu          sync.Mutex
	tr          *flow.Tracker
	done        chan struct{}
}

func startCapture(ctx context.Context, ic ifaceConfig, fcfg flow.Config, sen *sensor.Sensor) (*capture, error) {
	h, err := openEthernet(ic.Name)
	if err != nil {
		return nil, fmt.Errorf("--interface %s: %w", ic.Name, err)
	}
	if ic.BPF != "" {
		prog, err := compileBPF(ic.Name, ic.BPF)
		if err == nil {
			err = h.SetBPF(prog)
		}
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("--interface %s: --bpf: %w", ic.Name, err)
		}
	}
	c := &capture{iface: ic.Name, site: ic.Site, h: h, done: make(chan struct{})}
	sink := func(f *flowrec.Flow) {
		f.Site = c.site
		sen.Flow(f)
	}
	c.tr = flow.New(fcfg, sink)
	sen.AddCheckpointer(func(s func(*flowrec.Flow)) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.tr.Checkpoint(func(f *flowrec.Flow) {
			f.Site = c.site
			s(f)
		})
	})
	go c.run(ctx)
	return c, nil
}

func (c *capture) run(ctx context.Context) {
	defer close(c.done)
	dec, _ := decode.New(layers.LinkTypeEthernet)
	var p decode.Packet
	for ctx.Err() == nil {
		data, ci, err := c.h.ZeroCopyReadPacketData()
		if err != nil {
			return // closed, or the interface went away
		}
		ts := ci.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		c.mu.Lock()
		if dec.Decode(data, &p) != nil {
			c.tr.Stats.NotIP++
		} else {
			c.tr.Packet(&p, ci.Length, ts)
		}
		c.mu.Unlock()
	}
}

// Close stops the capture and hands its remaining flows to the sensor.
func (c *capture) Close() {
	c.h.Close()
	<-c.done
	c.mu.Lock()
	c.tr.Flush()
	c.mu.Unlock()
}

// compileBPF turns a filter expression into BPF with tcpdump -ddd, since no
// pure-Go libpcap filter compiler exists and cgo would end the static build.
func compileBPF(iface, expr string) ([]bpf.RawInstruction, error) {
	out, err := exec.Command("tcpdump", "-i", iface, "-ddd", expr).Output()
	if err != nil {
		return nil, fmt.Errorf("compiling %q needs tcpdump: %v", expr, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var prog []bpf.RawInstruction
	for first := true; sc.Scan(); first = false {
		if first {
			continue // instruction count
		}
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			return nil, fmt.Errorf("unexpected tcpdump output %q", sc.Text())
		}
		var v [4]uint64
		for i := range f {
			if v[i], err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("unexpected tcpdump output %q", sc.Text())
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	return prog, nil
}
