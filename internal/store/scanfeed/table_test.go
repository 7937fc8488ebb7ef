package scanfeed

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/store"
)

// sumWriter sums the rows of every batch per row key, reading each
// batch's rows once, as the stores do.
type sumWriter struct {
	rows    map[string]store.Traffic
	first   map[string]time.Time
	batches int
}

func (w *sumWriter) Write(_ context.Context, b *store.Batch) error {
	w.batches++
	for f := range b.AllFlows() {
		k := fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s|%s", f.Device, f.Peer, f.Port, f.Proto, f.Name, f.Entity, f.Role, f.Host, f.Hour.Format(time.RFC3339))
		t := w.rows[k]
		t.Add(f.Traffic)
		w.rows[k] = t
		if old, ok := w.first[k]; !ok || f.First.Before(old) {
			w.first[k] = f.First
		}
	}
	return nil
}

func (w *sumWriter) Close() error { return nil }

// TestTableSums feeds random flows (IPv4, IPv6 and IPv4-mapped IPv6
// addresses, several sites, names, entities and hours, a table grown
// past many chunks) through feeds that share a pool and write early, and
// checks the rows written against sums kept in a plain map.
func TestTableSums(t *testing.T) {
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var ents []*catalog.Entity
	for _, id := range []string{"bytedance", "dji", "huawei", "alibaba-cloud"} {
		if e := ix.Entities[id]; e != nil {
			ents = append(ents, e)
		}
	}
	if len(ents) < 2 {
		t.Fatalf("catalog has too few of the test's entities: %d", len(ents))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	addr := func(n int) netip.Addr {
		switch n % 3 {
		case 0:
			return netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)})
		case 1:
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 14: byte(n >> 8), 15: byte(n)})
		default: // the same bytes as case 0's address, but IPv6: another device
			return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 13: 0, 14: byte(n >> 8), 15: byte(n)})
		}
	}
	want := map[string]store.Traffic{}
	w := &sumWriter{rows: map[string]store.Traffic{}, first: map[string]time.Time{}}
	var pool Pool
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	for round := range 3 {
		f := New(context.Background(), w, "t").WithPool(&pool)
		f.MaxRows = 3000 + round*1000
		for i := range 20_000 {
			fl := flowrec.Flow{Site: fmt.Sprintf("site-%d", rng.IntN(3)), Device: addr(rng.IntN(600)), Peer: addr(rng.IntN(900)),
				PeerPort: uint16(443 + rng.IntN(2)), Proto: 6, BytesOut: uint64(rng.IntN(1000)), BytesIn: uint64(rng.IntN(5000)), PacketsOut: 1, PacketsIn: 2}
			fl.First = base + int64(rng.IntN(3))*int64(time.Hour) + int64(i)
			fl.Last = fl.First + int64(time.Second)
			var res attribute.Result
			role := ""
			var ent *catalog.Entity
			if rng.IntN(4) == 0 {
				ent = ents[rng.IntN(len(ents))]
				role = string(catalog.RoleService)
				res.Owner = attribute.Attribution{Entity: ent, Role: catalog.RoleService, Kind: attribute.Hostname, Value: "x.example"}
			}
			if !res.Owner.Concern() {
				ent, role = nil, ""
			}
			entID := ""
			if ent != nil {
				entID = ent.ID
			}
			k := fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s|%s", flowrec.DeviceID(fl.Site, fl.Device), fl.Peer, fl.PeerPort, "tcp", "", entID, role, "",
				time.Unix(0, fl.First).UTC().Truncate(time.Hour).Format(time.RFC3339))
			tr := want[k]
			tr.Add(store.Traffic{BytesOut: fl.BytesOut, BytesIn: fl.BytesIn, PacketsOut: 1, PacketsIn: 2, Flows: 1})
			want[k] = tr
			f.Flow(&fl, res)
		}
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if w.batches < 6 {
		t.Errorf("%d batches: the feeds should have written early past MaxRows", w.batches)
	}
	if len(w.rows) != len(want) {
		t.Errorf("%d distinct rows written, want %d", len(w.rows), len(want))
	}
	for k, tr := range want {
		if w.rows[k] != tr {
			t.Errorf("row %s: %+v, want %+v", k, w.rows[k], tr)
		}
	}
	if len(pool.free) == 0 {
		t.Error("no chunk went back to the pool")
	}
}

// TestPooledRowsReadOnce: a pooled feed hands its rows' memory back as
// they are read, so a second read of the same batch must fail loudly,
// not yield nothing.
func TestPooledRowsReadOnce(t *testing.T) {
	var pool Pool
	twice := writerFunc(func(b *store.Batch) error {
		n := 0
		for range b.AllFlows() {
			n++
		}
		if n != 1 {
			t.Errorf("first read: %d rows, want 1", n)
		}
		defer func() {
			if recover() == nil {
				t.Error("a second read of a pooled feed's rows did not panic")
			}
		}()
		for range b.AllFlows() {
		}
		return nil
	})
	f := New(context.Background(), twice, "t").WithPool(&pool)
	fl := flowrec.Flow{Device: netip.MustParseAddr("10.0.0.1"), Peer: netip.MustParseAddr("192.0.2.1"), Proto: 17, First: 1, Last: 2}
	f.Flow(&fl, attribute.Result{})
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
}

type writerFunc func(*store.Batch) error

func (w writerFunc) Write(_ context.Context, b *store.Batch) error { return w(b) }
func (w writerFunc) Close() error                                  { return nil }

// BenchmarkFeedRows: the heap 200,000 distinct rows hold in a feed (the
// map of 120-byte keys and a slice of sums it replaced held 285 bytes a
// row in BenchmarkActiveFlowsHeap).
func BenchmarkFeedRows(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f := New(context.Background(), writerFunc(func(*store.Batch) error { return nil }), "t")
		f.MaxRows = 1 << 30
		before := heap()
		for j := range 200_000 {
			fl := flowrec.Flow{Device: netip.AddrFrom4([4]byte{10, 0, byte(j >> 16), byte(j >> 8)}), Peer: netip.AddrFrom4([4]byte{192, 0, 2, byte(j)}),
				PeerPort: 443, Proto: 6, First: int64(j), Last: int64(j + 1), BytesOut: 1}
			f.Flow(&fl, attribute.Result{})
		}
		after := heap()
		b.ReportMetric((after-before)/200_000, "B/row")
		runtime.KeepAlive(f)
	}
}

func heap() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// TestTableGroup: group moves rows (over several chunks) so that those
// of a device and hour come together, groups in the order of their first
// row and rows in their order within a group, every row kept with its
// sums; the table takes rows again after reset.
func TestTableGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tb := table{seed: maphash.MakeSeed()}
	var keys []fkey
	for i := range 5000 {
		var k fkey
		put32(&k, kDev, uint32(rng.IntN(120)))
		putAddr(&k, kPeer, netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}))
		put32(&k, kHour, uint32(500_000+rng.IntN(3)))
		k[kRole] = 1 << 7
		r, added := tb.find(&k)
		if !added {
			t.Fatal("a key found twice")
		}
		r.bo = uint64(i)
		keys = append(keys, k)
	}
	gk := func(k *fkey) string {
		return fmt.Sprint(get32(k, kDev), get32(k, kHour))
	}
	firstOf := map[string]int{}
	for i := range keys {
		if _, ok := firstOf[gk(&keys[i])]; !ok {
			firstOf[gk(&keys[i])] = i
		}
	}
	want := slices.Clone(keys)
	slices.SortStableFunc(want, func(a, b fkey) int { return cmp.Compare(firstOf[gk(&a)], firstOf[gk(&b)]) })
	tb.group()
	if tb.n != len(keys) || tb.slots != nil {
		t.Fatalf("after group: %d rows, index %d", tb.n, len(tb.slots))
	}
	for i := range want {
		r := tb.at(i)
		if r.k != want[i] {
			t.Fatalf("row %d: key %x, want %x", i, r.k, want[i])
		}
		if r.bo != uint64(slices.Index(keys, r.k)) {
			t.Fatalf("row %d lost its sums", i)
		}
	}
	tb.reset()
	if _, added := tb.find(&keys[0]); !added || tb.n != 1 {
		t.Errorf("after reset: added %v, %d rows", added, tb.n)
	}
}

// TestRowTimes: a row keeps its first and last time to the millisecond
// (as both stores keep them), the earliest first and latest last of its
// flows, a last 60 days after its hour exactly, and a row is 80 bytes.
func TestRowTimes(t *testing.T) {
	if s := unsafe.Sizeof(row{}); s != 80 {
		t.Errorf("a row is %d bytes", s)
	}
	var got []store.Flow
	f := New(context.Background(), writerFunc(func(b *store.Batch) error {
		for fl := range b.AllFlows() {
			got = append(got, *fl)
		}
		return nil
	}), "t")
	h := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	peer := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, i}) }
	dev := netip.MustParseAddr("10.0.0.1")
	type span struct{ first, last time.Time }
	in := []struct {
		peer byte
		span
	}{
		{1, span{h.Add(1500*time.Microsecond + 999), h.Add(10*time.Minute + 700*time.Microsecond)}},
		{1, span{h.Add(3 * time.Second), h.Add(20*time.Minute + 5*time.Millisecond + 1)}},
		{2, span{h.Add(59*time.Minute + 59*time.Second + 999999999), h.Add(60*24*time.Hour + 123456789)}},
		{2, span{h.Add(30 * time.Minute), h.Add(31 * time.Minute)}},
		{3, span{h.Add(time.Minute), time.Unix(0, 0)}},
	}
	for _, x := range in {
		fl := flowrec.Flow{Device: dev, Peer: peer(x.peer), Proto: 6, PeerPort: 443, First: x.first.UnixNano(), Last: x.last.UnixNano(), BytesOut: 1}
		f.Flow(&fl, attribute.Result{})
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	ms := func(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }
	want := map[string]span{
		"192.0.2.1": {ms(in[0].first), ms(in[1].last)},
		"192.0.2.2": {ms(in[3].first), in[2].last},
		"192.0.2.3": {ms(in[4].first), h},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows", len(got))
	}
	for _, r := range got {
		w := want[r.Peer]
		if !r.First.Equal(w.first) || !r.Last.Equal(w.last) || !r.Hour.Equal(h) {
			t.Errorf("%s: hour %v, first %v, last %v; want %v %v", r.Peer, r.Hour, r.First, r.Last, w.first, w.last)
		}
	}
}

// TestFlowOf: flows given with device indexes a caller took once (as the
// sensor does) and kept across the feed's early writes are written as
// the same flows given to Flow.
func TestFlowOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var fls []flowrec.Flow
	for i := range 5000 {
		dev := netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(50))})
		if i%7 == 0 {
			dev = netip.AddrFrom16(dev.As16()) // the same bytes, IPv6: another device
		}
		at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(3*3600)) * time.Second).UnixNano()
		fls = append(fls, flowrec.Flow{Site: fmt.Sprintf("s%d", rng.IntN(3)), Device: dev, Peer: netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(200))}),
			PeerPort: 443, Proto: 6, First: at, Last: at + int64(time.Second), BytesOut: uint64(rng.IntN(100))})
	}
	var sums [2]*sumWriter
	for i := range sums {
		sums[i] = &sumWriter{rows: map[string]store.Traffic{}, first: map[string]time.Time{}}
		f := New(context.Background(), sums[i], "t")
		f.MaxRows = 700
		type dk struct {
			site string
			a    netip.Addr
		}
		devs := map[dk]uint32{}
		for j := range fls {
			fl := &fls[j]
			if i == 0 {
				f.Flow(fl, attribute.Result{})
				continue
			}
			k := dk{fl.Site, fl.Device}
			d, ok := devs[k]
			if !ok {
				d = f.Device(fl.Site, fl.Device)
				devs[k] = d
			}
			f.FlowOf(fl, attribute.Result{}, d)
		}
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if sums[1].batches < 5 || len(sums[0].rows) < 1000 {
		t.Fatalf("%d batches, %d rows", sums[1].batches, len(sums[0].rows))
	}
	if fmt.Sprint(sums[0].rows) != fmt.Sprint(sums[1].rows) || fmt.Sprint(sums[0].first) != fmt.Sprint(sums[1].first) {
		t.Error("FlowOf wrote other rows than Flow")
	}
	want, got := map[string]bool{}, map[string]bool{}
	for j := range fls {
		want[flowrec.DeviceID(fls[j].Site, fls[j].Device)] = true
	}
	for k := range sums[1].rows {
		got[k[:strings.IndexByte(k, '|')]] = true
	}
	if len(want) < 100 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("devices written %v, want %v", got, want)
	}
}

// TestRowCounts: packets past what a row's 32 bits hold are summed
// exactly, in the flow that overflows and after it, and a write forgets
// them with the rows.
func TestRowCounts(t *testing.T) {
	var got map[string]store.Traffic
	f := New(context.Background(), writerFunc(func(b *store.Batch) error {
		got = map[string]store.Traffic{}
		for fl := range b.AllFlows() {
			got[fl.Peer] = fl.Traffic
		}
		return nil
	}), "t")
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	add := func(peer byte, po, pi uint64) {
		fl := flowrec.Flow{Device: netip.MustParseAddr("10.0.0.1"), Peer: netip.AddrFrom4([4]byte{192, 0, 2, peer}), Proto: 17, PeerPort: 53,
			First: at, Last: at, BytesOut: po * 100, BytesIn: pi * 100, PacketsOut: po, PacketsIn: pi}
		f.Flow(&fl, attribute.Result{})
	}
	for range 3 {
		add(1, 3_000_000_000, 7)
	}
	add(1, 5, 1<<40)
	add(2, 10, 20)
	add(2, 1, 2)
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]store.Traffic{
		"192.0.2.1": {BytesOut: 900_000_000_500, BytesIn: 2100 + 100<<40, PacketsOut: 9_000_000_005, PacketsIn: 21 + 1<<40, Flows: 4},
		"192.0.2.2": {BytesOut: 1100, BytesIn: 2200, PacketsOut: 11, PacketsIn: 22, Flows: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	add(1, 1, 1)
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if w := (store.Traffic{BytesOut: 100, BytesIn: 100, PacketsOut: 1, PacketsIn: 1, Flows: 1}); len(got) != 1 || got["192.0.2.1"] != w {
		t.Errorf("after a write: %v", got)
	}
}
