package scancmd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/scan"
)

// live captures on an interface through an AF_PACKET socket (gopacket's
// pure-Go pcapgo.EthernetHandle, so the binary stays static) until the
// context ends, printing a rolling summary every ten seconds.
func live(ctx context.Context, env *cli.Env, s *scan.Scanner, o Options) error {
	h, err := openEthernet(o.Interface)
	if err != nil {
		return fmt.Errorf("--interface %s: %w", o.Interface, err)
	}
	defer h.Close()
	if o.BPF != "" {
		prog, err := compileBPF(o.Interface, o.BPF)
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

// ethHandle is what live reads packets from: pcapgo.EthernetHandle, an
// AF_PACKET socket, on Linux.
type ethHandle interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	SetBPF([]bpf.RawInstruction) error
	Close() error
}

// compileBPF turns a filter expression into BPF with tcpdump -ddd, since no
// pure-Go libpcap filter compiler exists and cgo would end the static build.
func compileBPF(iface, expr string) ([]bpf.RawInstruction, error) {
	out, err := exec.Command("tcpdump", "-i", iface, "-ddd", expr).Output()
	if err != nil {
		return nil, fmt.Errorf("--bpf: compiling %q needs tcpdump (apt-get install tcpdump): %v", expr, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	var prog []bpf.RawInstruction
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			continue // instruction count
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("--bpf: unexpected tcpdump output %q", sc.Text())
		}
		var v [4]uint64
		for i := range f {
			if v[i], err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("--bpf: unexpected tcpdump output %q", sc.Text())
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	return prog, nil
}
