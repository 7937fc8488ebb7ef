package flow

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// A sampled packet stands for n packets: the counters scale, the names
// are learnt from its one payload, and a checkpoint hands on the scaled
// growth once.
func TestPacketNScales(t *testing.T) {
	tr, out := collect(DefaultConfig())
	hello := tlshello.BuildClientHello("www.tiktok.com", nil)
	tr.PacketN(tcp("192.168.1.5", "23.50.60.70", 50000, 443, 101, decode.ACK, hello), 1400, 512, t0)
	tr.PacketN(tcp("23.50.60.70", "192.168.1.5", 443, 50000, 901, decode.ACK, make([]byte, 100)), 1500, 512, t0.Add(time.Millisecond))
	tr.PacketN(tcp("23.50.60.70", "192.168.1.5", 443, 50000, 1001, decode.ACK, nil), 60, 0, t0.Add(2*time.Millisecond)) // 0 is 1
	var mid []uint64
	tr.Checkpoint(func(f *flowrec.Flow) { mid = append(mid, f.BytesOut, f.PacketsOut, f.BytesIn, f.PacketsIn) })
	if want := []uint64{1400 * 512, 512, 1500*512 + 60, 513}; !equal(mid, want) {
		t.Errorf("checkpoint %v, want %v", mid, want)
	}
	tr.PacketN(tcp("192.168.1.5", "23.50.60.70", 50000, 443, 101+uint32(len(hello)), decode.ACK|decode.FIN, nil), 66, 10, t0.Add(3*time.Millisecond))
	tr.Flush()
	if len(*out) != 1 {
		t.Fatalf("%d flows, want 1", len(*out))
	}
	f := (*out)[0]
	if f.SNI != "www.tiktok.com" || f.BytesOut != 660 || f.PacketsOut != 10 || f.BytesIn != 0 || f.PacketsIn != 0 {
		t.Errorf("after checkpoint: SNI %q out %d/%d in %d/%d", f.SNI, f.BytesOut, f.PacketsOut, f.BytesIn, f.PacketsIn)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
