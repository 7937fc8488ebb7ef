package sqlite

import "testing"

// FuzzDecode feeds arbitrary bytes to the decoders of stored blobs (a
// damaged or hand-edited file): they must fail cleanly, never panic, and
// round-trip what they accept.
func FuzzDecode(f *testing.F) {
	r := flowRec{first: 1000, last: 2000, ent: 3, role: 4, name: 5, host: 6, hc: 7, proto: 1, port: 443, bo: 10, bi: 20, po: 1, pi: 2, n: 1}
	f.Add(appendFlow(nil, 0, &r))
	r.peerText = "not an address"
	f.Add(appendFlow(nil, 0, &r))
	q := queryRec{t: 5, name: 1, verdict: 2, typ: 28, rcode: 3, deadline: -7, latencyUS: 900, cached: true}
	f.Add(appendQuery(nil, 0, &q))
	f.Add(encodeDays(nil, []dayRec{{3, []uint64{1, 2, 3, 4, 5, 6, 7}}, {9, []uint64{1, 1, 1, 1, 1, 1, 1}}}))
	f.Add([]byte{4, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		if decodeFlows(b, 0, func(r *flowRec) bool { again = appendFlow(again, 0, r); return true }) == nil {
			var third []byte
			if err := decodeFlows(again, 0, func(r *flowRec) bool { third = appendFlow(third, 0, r); return true }); err != nil || string(third) != string(again) {
				t.Fatalf("flows do not round-trip: %v", err)
			}
		}
		decodeQueries(b, 0, func(*queryRec) bool { return true })
		decodeDays(b, 7, func(int64, []uint64) {})
		decodeDays(b, 3, func(int64, []uint64) {})
	})
}
