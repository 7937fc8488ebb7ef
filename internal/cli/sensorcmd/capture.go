package sensorcmd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/capture/live"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sensor"
)

// capture is one interface feeding a packet tracker whose finished flows,
// and whose active flows' growth at each flush, go to the sensor.
type capture struct {
	iface, site string
	h           live.Handle
	mu          sync.Mutex
	tr          *flow.Tracker
	done        chan struct{}
}

func startCapture(ctx context.Context, ic ifaceConfig, fcfg flow.Config, sen *sensor.Sensor) (*capture, error) {
	h, err := live.Open(ic.Name)
	if err != nil {
		return nil, fmt.Errorf("--interface %s: %w", ic.Name, err)
	}
	if ic.BPF != "" {
		prog, err := live.Compile(ic.Name, ic.BPF)
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
