package scancmd

import (
	"context"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/live"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/scan"
)

// captureLive captures on an interface through an AF_PACKET socket (gopacket's
// pure-Go pcapgo.EthernetHandle, so the binary stays static) until the
// context ends, printing a rolling summary every ten seconds.
func captureLive(ctx context.Context, env *cli.Env, s *scan.Scanner, o Options) error {
	h, err := live.Open(o.Interface)
	if err != nil {
		return fmt.Errorf("--interface %s: %w", o.Interface, err)
	}
	defer h.Close()
	if o.BPF != "" {
		prog, err := live.Compile(o.Interface, o.BPF)
		if err != nil {
			return err
		}
		if err := h.SetBPF(prog); err != nil {
			return fmt.Errorf("--bpf: %w", err)
		}
	}
	dec, _ := decode.New(layers.LinkTypeEthernet)
	var p decode.Packet
	tr := s.Tracker()
	in := scan.Input{Name: o.Interface, Link: "Ethernet"}
	defer func() { s.AddInput(in) }()
	next := time.Now().Add(10 * time.Second)
	go func() { <-ctx.Done(); h.Close() }()
	for ctx.Err() == nil {
		data, ci, err := h.ZeroCopyReadPacketData()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("%s: %w", o.Interface, err)
		}
		in.Packets++
		in.Bytes += int64(ci.Length)
		if dec.Decode(data, &p) != nil {
			tr.Stats.NotIP++
			continue
		}
		ts := ci.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		tr.Packet(&p, ci.Length, ts)
		if time.Now().After(next) {
			next = time.Now().Add(10 * time.Second)
			fmt.Fprintf(env.Stderr, "%s: %d packets, %d flows (%d active), %d to entities of concern so far\n", time.Now().Format("15:04:05"),
				tr.Stats.Packets, tr.Stats.Flows, tr.Active(), s.ConcernFlows())
		}
	}
	return nil
}
