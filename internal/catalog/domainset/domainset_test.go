package domainset

import (
	"fmt"
	"testing"
)

func TestLookup(t *testing.T) {
	s := New(0)
	for i, n := range []string{"amazon.com", "ws.amazon.com", "qq.com", "weixin.qq.com", "tiktokcdn.com", "CapCut.COM."} {
		if _, err := s.Add(n, uint32(i)); err != nil {
			t.Fatalf("Add(%q): %v", n, err)
		}
	}
	tests := []struct {
		name    string
		want    uint32
		matched int
		ok      bool
	}{
		{"aws.amazon.com", 0, len("amazon.com"), true}, // not ws.amazon.com
		{"ws.amazon.com", 1, len("ws.amazon.com"), true},
		{"a.ws.amazon.com", 1, len("ws.amazon.com"), true},
		{"hkminorshort.weixin.qq.com", 3, len("weixin.qq.com"), true},
		{"weixin.qq.com", 3, len("weixin.qq.com"), true},
		{"xqq.com", 0, 0, false},
		{"qq.com.evil.net", 0, 0, false},
		{"capcut.com", 5, len("capcut.com"), true},
		{"com", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, m, ok := s.Lookup([]byte(tc.name))
			if ok != tc.ok || (ok && (v != tc.want || m != tc.matched)) {
				t.Errorf("Lookup(%q) = %d,%d,%v; want %d,%d,%v", tc.name, v, m, ok, tc.want, tc.matched, tc.ok)
			}
		})
	}
}

func TestAddTwiceKeepsFirst(t *testing.T) {
	s := New(4)
	if added, _ := s.Add("a.cn", 1); !added {
		t.Fatal("first add not added")
	}
	if added, _ := s.Add("A.CN.", 2); added {
		t.Fatal("second add of same name reported added")
	}
	if v, _, _ := s.Lookup([]byte("x.a.cn")); v != 1 {
		t.Fatalf("value %d, want 1", v)
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, n := range []string{"a..b", ".a", "a b", "a/b", "ä.cn", "a.b.."} {
		if _, ok := Normalize(nil, n); ok {
			t.Errorf("Normalize(%q) accepted", n)
		}
	}
}

func TestGrowKeepsAll(t *testing.T) {
	s := New(0)
	for i := range 5000 {
		if _, err := s.Add(fmt.Sprintf("n%d.example.cn", i), uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5000 {
		v, _, ok := s.Lookup(fmt.Appendf(nil, "www.n%d.example.cn", i))
		if !ok || v != uint32(i) {
			t.Fatalf("name %d: got %d %v", i, v, ok)
		}
	}
}

func FuzzAddLookup(f *testing.F) {
	f.Add("tiktok.com", "www.tiktok.com")
	f.Add("a..b", "")
	f.Fuzz(func(t *testing.T, add, look string) {
		s := New(1)
		_, _ = s.Add(add, 7)
		var buf [MaxName + 1]byte
		b, ok := Normalize(buf[:0], look)
		if !ok {
			return
		}
		v, m, found := s.Lookup(b)
		if found && (v != 7 || m > len(b)) {
			t.Fatalf("bad result %d %d", v, m)
		}
	})
}

func BenchmarkLookupMillion(b *testing.B) {
	s := New(1 << 20)
	for i := range 1 << 20 {
		_, _ = s.Add(fmt.Sprintf("host%d.block%d.example", i, i%977), uint32(i))
	}
	names := [][]byte{[]byte("img.host12345.block363.example"), []byte("www.google.com"), []byte("a.b.c.d.e.f.example.org")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Lookup(names[i%len(names)])
	}
	b.ReportMetric(float64(s.Bytes())/float64(s.Len()), "B/name")
}
