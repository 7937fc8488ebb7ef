package scan

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// Protocols that carry no name are attributed by their payload's shape,
// below any name: QQ's OICQ to Tencent, Tuya's LAN broadcasts to Tuya; a
// name on the same flow would win.
func TestPayloadSignatures(t *testing.T) {
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	oicq := []byte{0x02, 0x3b, 0x0b, 0x00, 0x01, 0x00, 0x17}
	oicq = binary.BigEndian.AppendUint32(oicq, 1444875387)
	oicq = append(append(oicq, make([]byte, 16)...), 0x03)
	tuya := binary.BigEndian.AppendUint32(nil, 0x000055AA)
	tuya = binary.BigEndian.AppendUint32(tuya, 0)
	tuya = binary.BigEndian.AppendUint32(tuya, 0x13)
	tuya = binary.BigEndian.AppendUint32(tuya, 48)
	tuya = append(tuya, make([]byte, 40)...)
	tuya = binary.BigEndian.AppendUint32(tuya, 0xdeadbeef)
	tuya = binary.BigEndian.AppendUint32(tuya, 0x0000AA55)

	s := New(DefaultConfig(), attribute.New(ix))
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	send := func(src, dst string, sp, dp uint16, b []byte) {
		p := decode.Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Proto: 17, Payload: b}
		s.Tracker().Packet(&p, 42+len(b), at)
		at = at.Add(time.Second)
	}
	send("192.168.1.20", "58.60.10.45", 54233, 8000, oicq)
	send("192.168.1.30", "255.255.255.255", 49154, 6667, tuya)
	send("192.168.1.40", "198.51.100.7", 54234, 8001, oicq) // the shape on another port: nothing
	rep := s.Finish(at)
	got := map[string]string{}
	for _, d := range rep.Devices {
		for _, x := range d.Exposures {
			if len(x.Evidence) == 0 || x.Evidence[0].Kind != attribute.Signature {
				t.Errorf("%s -> %s by %+v, want a payload signature", d.Address, x.Entity, x.Evidence)
			}
			got[d.Address] = x.Entity
		}
	}
	if got["192.168.1.20"] != "tencent" || got["192.168.1.30"] != "tuya" || got["192.168.1.40"] != "" {
		t.Errorf("exposures %v", got)
	}
	// A name outranks a signature.
	r := attribute.New(ix).Peer(attribute.Peer{Names: []attribute.Name{{Kind: attribute.TLSSNI, Value: "www.tiktok.com"}}, Signature: "oicq"})
	if r.Owner.Entity == nil || r.Owner.Entity.ID != "tiktok" {
		t.Errorf("a signature outranked a name: %v", r.Owner.Entity)
	}
}

// The real captures of these protocols (nDPI's test suite, in the shared
// test data) are attributed the same way.
func TestPayloadSignaturesOnSharedCaptures(t *testing.T) {
	dir := sharedtest.Path(t, "pcap")
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"oicq.pcap": "tencent", "tuya_lp.pcap": "tuya"} {
		s := New(DefaultConfig(), attribute.New(ix))
		if err := s.ReadFile(t.Context(), filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
		rep := s.Finish(time.Now())
		n := 0
		for _, tot := range rep.Totals {
			if tot.Entity != want {
				t.Errorf("%s: traffic to %s", file, tot.Entity)
			}
			n += tot.Flows
		}
		if n == 0 {
			t.Errorf("%s: nothing attributed to %s", file, want)
		}
	}
}
