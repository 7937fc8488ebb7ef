package cache

import (
	"fmt"
	"testing"
	"time"
)

func entry(key string, ttl uint32) *Entry[int] {
	return &Entry[int]{Key: key, Msg: []byte(key), TTL: ttl}
}

func TestStates(t *testing.T) {
	c := New[int](Config{Size: 100, Stale: time.Hour, Prefetch: true})
	c.Put(entry("a", 100), 1000)
	tests := []struct {
		name string
		now  int64
		want State
	}{
		{"fresh", 1000, Fresh},
		{"still fresh", 1089, Fresh},
		{"prefetch in the last tenth", 1095, Prefetch},
		{"prefetch only once", 1096, Fresh},
		{"expired", 1100, Expired},
		{"end of the stale window", 1100 + 3599, Expired},
		{"gone past the stale window", 1100 + 3600, Miss},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, st := c.Get([]byte("a"), tc.now); st != tc.want {
				t.Errorf("Get at %d = %v, want %v", tc.now, st, tc.want)
			}
		})
	}
	if _, st := c.Get([]byte("b"), 1000); st != Miss {
		t.Errorf("absent key: %v", st)
	}
	e, _ := c.Get([]byte("a"), 1030)
	if e == nil || e.Age(1030) != 30 {
		t.Errorf("age = %v", e)
	}
}

func TestReplaceAndEvict(t *testing.T) {
	c := New[int](Config{Size: shards * 4})
	for i := 0; i < shards*40; i++ {
		c.Put(entry(fmt.Sprint("k", i), 100), 1)
	}
	if n := c.Len(); n > shards*4 {
		t.Fatalf("Len = %d, over the bound %d", n, shards*4)
	}
	if c.Stats().Evictions == 0 {
		t.Error("no evictions counted")
	}
	c.Put(entry("x", 100), 1)
	c.Put(&Entry[int]{Key: "x", TTL: 100, Meta: 7}, 2)
	if e, st := c.Get([]byte("x"), 3); st != Fresh || e.Meta != 7 {
		t.Errorf("replaced entry: %v %v", e, st)
	}
	// A referenced entry survives a round of eviction; the CLOCK hand
	// evicts the unreferenced ones first.
	c = New[int](Config{Size: shards * 8})
	c.Put(entry("hot", 100), 1)
	for i := 0; i < shards*30; i++ {
		c.Get([]byte("hot"), 2)
		c.Put(entry(fmt.Sprint("cold", i), 100), 2)
	}
	if _, st := c.Get([]byte("hot"), 3); st != Fresh {
		t.Errorf("hot entry evicted")
	}
	c.Flush()
	if c.Len() != 0 {
		t.Error("Flush left entries")
	}
}

func TestDisabled(t *testing.T) {
	c := New[int](Config{})
	c.Put(entry("a", 10), 1)
	if _, st := c.Get([]byte("a"), 1); st != Miss {
		t.Errorf("disabled cache answered %v", st)
	}
}

func TestClampTTL(t *testing.T) {
	c := New[int](Config{MinTTL: 5 * time.Second, MaxTTL: time.Hour, NegativeTTL: time.Minute})
	for _, tc := range []struct {
		ttl  uint32
		neg  bool
		want uint32
	}{{1, false, 5}, {100, false, 100}, {86400, false, 3600}, {3600, true, 60}, {1, true, 1}} {
		if got := c.ClampTTL(tc.ttl, tc.neg); got != tc.want {
			t.Errorf("ClampTTL(%d, %v) = %d, want %d", tc.ttl, tc.neg, got, tc.want)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	c := New[int](DefaultConfig())
	for i := 0; i < 10000; i++ {
		c.Put(entry(fmt.Sprint("www.example", i, ".com"), 3600), 1)
	}
	key := []byte("www.example42.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, st := c.Get(key, 2); st != Fresh {
			b.Fatal(st)
		}
	}
}
