package netflow

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
	"github.com/outflow-dev/outflow/internal/capture/pcapfile"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// readExports decodes every export datagram of a shared capture.
func readExports(t *testing.T, name string) ([]flowrec.Flow, *Decoder) {
	t.Helper()
	r, err := pcapfile.Open(sharedtest.Path(t, "netflow", name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := New()
	var recs []flowrec.Flow
	var dec *decode.Decoder
	var p decode.Packet
	for {
		data, ci, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if dec == nil {
			if dec, err = decode.New(r.LinkType()); err != nil {
				t.Fatal(err)
			}
		}
		if dec.Decode(data, &p) != nil || !Ports[p.DstPort] {
			continue
		}
		if err := d.Decode(netip.AddrPortFrom(p.Src, p.SrcPort), p.Payload, ci.Timestamp, func(rec *flowrec.Flow) { recs = append(recs, *rec) }); err != nil {
			t.Fatal(err)
		}
	}
	return recs, d
}

func TestIPFIXBiflows(t *testing.T) {
	recs, d := readExports(t, "ipfix_bidir_from_wechat.pcapng")
	var fwd, rev uint64
	for _, r := range recs {
		fwd += r.BytesOut
		rev += r.BytesIn
		if !r.Device.IsValid() || !r.Peer.IsValid() || r.Proto == 0 {
			t.Fatalf("incomplete record %+v", r)
		}
	}
	// The testdata README: 103 records; forward 279,792 and reverse 364,110 octets.
	if len(recs) != 103 || fwd != 279792 || rev != 364110 {
		t.Fatalf("%d records, forward %d, reverse %d (no template: %d)", len(recs), fwd, rev, d.Total().NoTemplate)
	}
}

func TestNetFlowV5(t *testing.T) {
	recs, _ := readExports(t, "netflow_v5_from_wechat.pcapng")
	if len(recs) != 150 {
		t.Fatalf("%d records, want 150", len(recs))
	}
	var total uint64
	for _, r := range recs {
		total += r.BytesOut
	}
	// v5 is unidirectional and IPv4 only: both directions together equal
	// the IPv4 biflows' forward and reverse octets.
	bi, _ := readExports(t, "ipfix_bidir_from_wechat.pcapng")
	var want uint64
	for _, r := range bi {
		if r.Device.Is4() {
			want += r.BytesOut + r.BytesIn
		}
	}
	if total != want || want == 0 {
		t.Errorf("v5 octets %d, want the IPv4 biflows' %d", total, want)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := New()
		ex := netip.MustParseAddrPort("10.0.0.1:2055")
		at := time.Unix(1_700_000_000, 0)
		_ = d.Decode(ex, b, at, func(*flowrec.Flow) {})
		_ = d.Decode(ex, b, at, func(*flowrec.Flow) {})
		d.Expire(at.Add(time.Hour))
	})
}
