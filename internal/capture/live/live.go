// Package live opens an interface for capture (an AF_PACKET socket through
// gopacket's pcapgo, Linux only) and compiles a capture filter, for every
// command that reads live traffic (scan --interface, sensor --interface).
//
// Filters are compiled by tcpdump -ddd: no pure-Go libpcap filter compiler
// exists, and linking libpcap through cgo would end the static build.
//
// It must never import the flow tracker, the catalog or any sink.
package live

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"golang.org/x/net/bpf"
)

// Handle is what a live capture reads packets from: pcapgo's
// EthernetHandle on Linux.
type Handle interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	SetBPF([]bpf.RawInstruction) error
	Close() error
}

// Compile turns a filter expression into BPF for iface with tcpdump -ddd.
func Compile(iface, expr string) ([]bpf.RawInstruction, error) {
	out, err := exec.Command("tcpdump", "-i", iface, "-ddd", expr).Output()
	if err != nil {
		return nil, fmt.Errorf("compiling %q needs tcpdump: %v", expr, err)
	}
	return parseDDD(out)
}

// parseDDD reads tcpdump -ddd's output: the instruction count, then one
// instruction a line as four decimal numbers.
func parseDDD(out []byte) ([]bpf.RawInstruction, error) {
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
			var err error
			if v[i], err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("unexpected tcpdump output %q", sc.Text())
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	return prog, sc.Err()
}
