package attribute

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

var (
	bigOnce sync.Once
	bigAt   *Attributor
	bigMem  uint64
)

// bigCatalog is the built-in catalog with a million-name extra list, as an
// organisation's blocklist would add.
func bigCatalog(b *testing.B) *Attributor {
	bigOnce.Do(func() {
		ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			panic(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		list := &catalog.Asset{Entity: ix.Entities["bytedance"], Kind: catalog.KindDomain, Value: "extra-list", Role: catalog.RoleService,
			Source: &catalog.Source{ID: "bench"}, Status: catalog.Listed}
		n, err := ix.AddDomains(list, func(yield func(string) bool) {
			for i := range 1_000_000 {
				if !yield(fmt.Sprintf("h%d.blocked%d.example", i, i%5003)) {
					return
				}
			}
		})
		if err != nil || n != 1_000_000 {
			panic(fmt.Sprint(n, err))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bigMem = after.HeapInuse - before.HeapInuse
		bigAt = New(ix)
	})
	return bigAt
}

func BenchmarkDomainLookup(b *testing.B) {
	at := bigCatalog(b)
	names := [][]byte{[]byte("hkminorshort.weixin.qq.com"), []byte("api16-normal-useast5.us.tiktokv.com"),
		[]byte("www.wikipedia.org"), []byte("img.h777.blocked2766.example")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at.NameBytes(TLSSNI, names[i&3])
	}
	b.ReportMetric(float64(bigMem)/1e6, "MB-for-1M-names")
}

func BenchmarkAddrLookupV4(b *testing.B) {
	at := bigCatalog(b)
	addrs := []netip.Addr{netip.MustParseAddr("71.18.8.1"), netip.MustParseAddr("8.209.76.194"), netip.MustParseAddr("142.250.185.68"), netip.MustParseAddr("36.110.1.1")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at.Addr(addrs[i&3])
	}
}

func BenchmarkAddrLookupV6(b *testing.B) {
	at := bigCatalog(b)
	addrs := []netip.Addr{netip.MustParseAddr("2409:8c00::1"), netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("240e:e9::1"), netip.MustParseAddr("2a03:2880::1")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at.Addr(addrs[i&3])
	}
}

func BenchmarkOUILookup(b *testing.B) {
	at := bigCatalog(b)
	var macs []net.HardwareAddr
	for _, s := range []string{"60:60:1f:3a:7c:21", "44:47:cc:5e:90:12", "00:14:22:a1:b2:c3", "70:b3:d5:e0:00:01"} {
		m, _ := net.ParseMAC(s)
		macs = append(macs, m)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at.MAC(macs[i&3])
	}
}

func BenchmarkSDKLookup(b *testing.B) {
	at := bigCatalog(b)
	classes := []string{"Lcom/sina/weibo/sdk/cmd/WbAppActivator;", "Landroidx/appcompat/app/AppCompatActivity;", "Lcom/tencent/bugly/crashreport/CrashReport;", "Lokhttp3/OkHttpClient;"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at.Class(classes[i&3])
	}
}
