package netflow

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/flowrec"
)

// ipfix builds an IPFIX message of sets at export time t.
func ipfix(t uint32, domain uint32, sets ...[]byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b, 10)
	binary.BigEndian.PutUint32(b[4:], t)
	binary.BigEndian.PutUint32(b[12:], domain)
	for _, s := range sets {
		b = append(b, s...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

func set(id uint16, body ...[]byte) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, id)
	for _, x := range body {
		b = append(b, x...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

func u16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

// template 256: src4, dst4, proto, octets(4), packets(4), and fields extra.
func tmpl256(extra ...uint16) []byte {
	fs := []uint16{256, uint16(5 + len(extra)/2), ieSrc4, 4, ieDst4, 4, ieProto, 1, ieOctets, 4, iePackets, 4}
	return set(2, u16(append(fs, extra...)...))
}

func rec256(octets, packets uint32, extra ...byte) []byte {
	b := []byte{10, 0, 0, 5, 203, 0, 113, 9, 6}
	b = binary.BigEndian.AppendUint32(b, octets)
	b = binary.BigEndian.AppendUint32(b, packets)
	return append(b, extra...)
}

type sink struct{ got []flowrec.Flow }

func (s *sink) visit(f *flowrec.Flow) { s.got = append(s.got, *f) }

var exp = netip.MustParseAddrPort("192.0.2.1:40000")

const t0 = 1_780_000_000

func TestRecordWithoutTimesTakesExportTime(t *testing.T) {
	d, s := New(), &sink{}
	if err := d.Decode(exp, ipfix(t0, 1, tmpl256(), set(256, rec256(1000, 10))), time.Unix(t0, 0), s.visit); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 1 || s.got[0].First != t0*int64(time.Second) || s.got[0].Last != s.got[0].First {
		t.Fatalf("got %+v, want first = last = the export time", s.got)
	}
}

func TestFutureClampedAndCounted(t *testing.T) {
	d, s := New(), &sink{}
	end := binary.BigEndian.AppendUint32(nil, t0+3600) // an hour after the export
	if err := d.Decode(exp, ipfix(t0, 1, tmpl256(ieEndSec, 4), set(256, rec256(1, 1, end...))), time.Unix(t0, 0), s.visit); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 1 || s.got[0].Last != t0*int64(time.Second) || d.Total().Future != 1 {
		t.Fatalf("got %+v, future %d; want last clamped to the export time and counted", s.got, d.Total().Future)
	}
}

func TestDataBeforeTemplateHeldThenDecoded(t *testing.T) {
	d, s := New(), &sink{}
	at := time.Unix(t0, 0)
	_ = d.Decode(exp, ipfix(t0, 1, set(256, rec256(500, 5))), at, s.visit)
	if len(s.got) != 0 || d.Held() != 1 || d.Total().NoTemplate != 1 {
		t.Fatalf("before the template: %d records, %d held", len(s.got), d.Held())
	}
	_ = d.Decode(exp, ipfix(t0+1, 1, tmpl256()), at.Add(time.Second), s.visit)
	if len(s.got) != 1 || s.got[0].BytesOut != 500 || d.Held() != 0 || d.Total().Late != 1 {
		t.Fatalf("after the template: %+v, %d held", s.got, d.Held())
	}
	// the held record keeps its own datagram's time
	if s.got[0].First != t0*int64(time.Second) {
		t.Errorf("late record dated %d, want its datagram's export time", s.got[0].First)
	}
}

func TestHeldDroppedAfterHold(t *testing.T) {
	d, s := New(), &sink{}
	at := time.Unix(t0, 0)
	_ = d.Decode(exp, ipfix(t0, 1, set(256, rec256(500, 5))), at, s.visit)
	// another domain's template does not release it
	_ = d.Decode(exp, ipfix(t0, 2, tmpl256()), at, s.visit)
	d.Expire(at.Add(DefaultConfig().Hold + time.Second))
	if d.Held() != 0 || d.Total().Dropped != 1 || len(s.got) != 0 {
		t.Fatalf("held %d dropped %d records %d", d.Held(), d.Total().Dropped, len(s.got))
	}
}

func TestTemplateWithdrawal(t *testing.T) {
	d, s := New(), &sink{}
	at := time.Unix(t0, 0)
	_ = d.Decode(exp, ipfix(t0, 1, tmpl256()), at, s.visit)
	_ = d.Decode(exp, ipfix(t0, 1, set(2, u16(256, 0))), at, s.visit) // withdraw 256
	_ = d.Decode(exp, ipfix(t0, 1, set(256, rec256(1, 1))), at, s.visit)
	if len(s.got) != 0 || d.Total().Withdrawn != 1 || d.Held() != 1 {
		t.Fatalf("after withdrawal: %d records, %d withdrawn, %d held", len(s.got), d.Total().Withdrawn, d.Held())
	}
	// refresh: the template again, with another layout
	_ = d.Decode(exp, ipfix(t0, 1, tmpl256(ieSrcPort, 2)), at, s.visit)
	if len(s.got) != 0 {
		// the held set was laid out for no template; with the new one its
		// 17 bytes make no whole record (19 needed)
		t.Fatalf("held set decoded with a refreshed template of another size: %+v", s.got)
	}
}

func TestSamplingFromOptions(t *testing.T) {
	d, s := New(), &sink{}
	at := time.Unix(t0, 0)
	// options template 257: scope observationDomainId (149, 4), option samplingPacketInterval (305, 4)
	opt := set(3, u16(257, 2, 1, 149, 4, ieSamplingPkt, 4))
	optData := set(257, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1), 100))
	if err := d.Decode(exp, ipfix(t0, 1, opt, optData, tmpl256(), set(256, rec256(64, 1))), at, s.visit); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 1 || s.got[0].BytesOut != 6400 || s.got[0].PacketsOut != 100 {
		t.Fatalf("got %+v, want counters scaled by 100", s.got)
	}
}

func TestHostileTemplates(t *testing.T) {
	d, s := New(), &sink{}
	at := time.Unix(t0, 0)
	// a template whose records take no bytes would make goflow2 loop
	zero := set(2, u16(300, 1, ieProto, 0))
	_ = d.Decode(exp, ipfix(t0, 1, zero, set(300, []byte{1, 2, 3})), at, s.visit)
	if d.Total().Refused != 1 || len(s.got) != 0 {
		t.Fatalf("refused %d, records %d", d.Total().Refused, len(s.got))
	}
	// garbage and truncation are errors, never panics
	for _, b := range [][]byte{nil, {0, 10}, {0, 9, 0, 1}, {0, 5, 0, 30}, ipfix(t0, 1, []byte{0, 2, 0, 200})} {
		_ = d.Decode(exp, b, at, s.visit)
	}
	if d.Total().Errors == 0 {
		t.Error("garbage not counted")
	}
}

func TestSite(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Site = func(a netip.Addr, domain uint32) string {
		if domain == 7 {
			return "branch-7"
		}
		return a.String()
	}
	d, s := NewWith(cfg), &sink{}
	_ = d.Decode(exp, ipfix(t0, 7, tmpl256(), set(256, rec256(1, 1))), time.Unix(t0, 0), s.visit)
	_ = d.Decode(exp, ipfix(t0, 8, tmpl256(), set(256, rec256(1, 1))), time.Unix(t0, 0), s.visit)
	if len(s.got) != 2 || s.got[0].Site != "branch-7" || s.got[1].Site != "192.0.2.1" {
		t.Fatalf("sites %+v", s.got)
	}
}

func TestSharedExportsDated(t *testing.T) {
	for _, name := range []string{"ipfix_bidir_from_wechat.pcapng", "netflow_v5_from_wechat.pcapng"} {
		recs, d := readExports(t, name)
		if len(recs) == 0 {
			t.Fatalf("%s: no records", name)
		}
		for _, r := range recs {
			if r.First < time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() || r.Last < r.First {
				t.Fatalf("%s: record dated %s to %s", name, time.Unix(0, r.First).UTC(), time.Unix(0, r.Last).UTC())
			}
		}
		if st := d.Total(); st.Records != uint64(len(recs)) || st.Dropped != 0 {
			t.Errorf("%s: stats %+v", name, st)
		}
	}
}

// Variable-length fields (RFC 7011 section 7: one length byte, or 255 and
// two) are stepped over in place; a record cut short ends the set with an
// error and keeps the records before it; padding after the last record is
// not a record.
func TestVariableLengthFields(t *testing.T) {
	d := New()
	var s sink
	long := make([]byte, 300)
	recs := append(rec256(100, 1, 3, 'e', 't', 'h'), rec256(200, 2, 255, 1, 44)...)
	recs = append(recs, long...)
	recs = append(recs, 0, 0, 0) // padding: shorter than a record's fixed part
	if err := d.Decode(exp, ipfix(t0, 1, tmpl256(82, 0xffff), set(256, recs)), time.Unix(t0, 0), s.visit); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 2 || s.got[0].BytesOut != 100 || s.got[1].BytesOut != 200 || s.got[1].PacketsOut != 2 {
		t.Fatalf("records %+v", s.got)
	}
	s.got = nil
	cut := append(rec256(300, 3, 2, 'x', 'y'), rec256(400, 4, 9, 'a')...) // the second says 9 bytes, has 1
	err := d.Decode(exp, ipfix(t0, 1, set(256, cut)), time.Unix(t0, 0), s.visit)
	if len(s.got) != 1 || s.got[0].BytesOut != 300 {
		t.Fatalf("records before the cut %+v", s.got)
	}
	if st := d.Total(); st.Errors == 0 {
		t.Errorf("a record cut short counted no error (err %v)", err)
	}
}
