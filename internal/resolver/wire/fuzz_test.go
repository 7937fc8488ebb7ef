package wire

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseQuery feeds anything a client could send. Whatever ParseQuery
// accepts must yield answers that a real DNS library can read.
func FuzzParseQuery(f *testing.F) {
	for _, m := range []*dns.Msg{query("www.tiktok.com.", dns.TypeA, false, false), query("a.", dns.TypeHTTPS, true, true), query(".", dns.TypeNS, true, false)} {
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1})
	f.Add([]byte("garbage garbage garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var q Query
		if err := ParseQuery(b, &q); err != nil {
			if id, fl, ok := ParseHeaderID(b); ok {
				_ = AppendFormErr(nil, id, fl, RcodeFormErr)
			}
			return
		}
		_, _ = AppendName(nil, q.QName)
		_ = AppendKey(nil, &q)
		for _, out := range [][]byte{
			AppendError(nil, &q, b, RcodeServFail),
			AppendBlocked(nil, &q, b, RcodeSuccess, []byte{0, 0, 0, 0}, 60, EDEBlocked, "r"),
		} {
			var m dns.Msg
			if err := m.Unpack(out); err != nil {
				t.Fatalf("answer does not unpack: %v\nquery %x\nanswer %x", err, b, out)
			}
			if len(out) > q.MaxUDP() {
				_ = Truncate(out, &q)
			}
		}
	})
}

// FuzzScanTTLs feeds upstream responses: ScanTTLs must refuse or walk them,
// and AppendStored must then re-stamp them without panicking.
func FuzzScanTTLs(f *testing.F) {
	stored, _ := storedResponse(f)
	f.Add(stored)
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4})
	req, _ := query("www.example.com.", dns.TypeA, true, false).Pack()
	var q Query
	if err := ParseQuery(req, &q); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ttls, err := ScanTTLs(b, nil)
		if err != nil {
			return
		}
		end, err := QuestionEnd(b)
		if err != nil || end != q.QEnd {
			return
		}
		_ = AppendStored(nil, b, ttls, &q, req, 10, 0)
	})
}

// FuzzAppendName: the presentation form of any wire name reads back, by
// miekg/dns's parser of presentation names, as the same name lowercased:
// two different names never present alike.
func FuzzAppendName(f *testing.F) {
	for _, n := range [][]byte{[]byte("\x0awww.tiktok\x03com\x00"), []byte("\x03www\x06tiktok\x03com\x00"), []byte("\x03a\x00b\x01\\\x00"), []byte("\x02A \x01\xff\x00")} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, w []byte) {
		// Only what ParseQuery accepts: labels up to 63 bytes, 255 in all.
		var b []byte
		b = append(b, make([]byte, HeaderLen)...)
		b[5] = 1
		b = append(b, w...)
		b = append(b, 0, 1, 0, 1)
		var q Query
		if ParseQuery(b, &q) != nil {
			return
		}
		pres, _ := AppendName(nil, q.QName)
		lower := make([]byte, len(q.QName))
		for i, c := range q.QName {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		back := make([]byte, 512)
		n, err := dns.PackDomainName(string(pres)+".", back, 0, nil, false)
		if err != nil {
			t.Fatalf("%q presents as %q, which does not parse: %v", q.QName, pres, err)
		}
		if string(back[:n]) != string(lower) {
			t.Fatalf("%q presents as %q, which reads back as %q", q.QName, pres, back[:n])
		}
	})
}
