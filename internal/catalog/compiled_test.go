package catalog

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gaissmai/bart"
	"github.com/google/go-cmp/cmp"

	builtin "github.com/outflow-dev/outflow/catalog"
)

// TestCompiledUpToDate fails when catalog/catalog.bin no longer matches
// the text files beside it, or when the generator is not deterministic.
func TestCompiledUpToDate(t *testing.T) {
	if err := VerifyBuiltin(); err != nil {
		t.Fatalf("%v", err)
	}
	a, err := GenerateCompiled(builtin.FS)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateCompiled(builtin.FS)
	if string(a) != string(b) {
		t.Fatal("two generations of the same files differ")
	}
}

// view flattens what an index holds for comparison: every field of every
// source, entity, list, DNS service and asset, pointers by id.
func view(ix *Index) map[string]string {
	out := map[string]string{}
	for id, s := range ix.Sources {
		out["source "+id] = fmt.Sprintf("%+v", *s)
	}
	ids := func(es []*Entity) (s []string) {
		for _, e := range es {
			s = append(s, e.ID)
		}
		return s
	}
	for id, e := range ix.Entities {
		c := *e
		c.Chain, c.Children, c.Memberships = nil, nil, nil
		var ms []string
		for _, m := range e.Memberships {
			en := ""
			if m.Entry != nil {
				en = fmt.Sprintf("%+v", *m.Entry)
			}
			ms = append(ms, m.List.ID+"/"+m.Entity.ID+"/"+en)
		}
		out["entity "+id] = fmt.Sprintf("%+v chain %v children %v memberships %v", c, ids(e.Chain), ids(e.Children), ms)
	}
	for id, l := range ix.Lists {
		out["list "+id] = fmt.Sprintf("%+v", *l)
	}
	for id, s := range ix.DNSServices {
		c := *s
		c.OwnerEntity = nil
		out["dns "+id] = fmt.Sprintf("%+v owner %s", c, s.OwnerEntity.ID)
	}
	for i, a := range ix.AllAssets() {
		c := *a
		c.Entity, c.Source = nil, nil
		out[fmt.Sprintf("asset %05d", i)] = fmt.Sprintf("%+v entity %s source %t %s", c, a.Entity.ID, ix.Sources[a.Source.ID] == a.Source, a.Source.ID)
	}
	out["counts"] = fmt.Sprintf("assets %d domains %d services %d", ix.AssetCount(), ix.DomainCount(), len(ix.DNSServiceList()))
	return out
}

func textIndex(t testing.TB) *Index {
	t.Helper()
	raw, err := Load(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Compile(raw, Options{At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Check(); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestCompiledMatchesText: the index opened from the compiled catalog
// holds what the text files compile to, and answers every lookup alike.
func TestCompiledMatchesText(t *testing.T) {
	text := textIndex(t)
	comp, err := openCompiled(builtin.Compiled, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if ix, err := Open(testNow); err != nil || ix.compiled == nil {
		t.Fatalf("Open did not open the compiled catalog: %v", err)
	}
	if d := cmp.Diff(view(text), view(comp)); d != "" {
		t.Fatalf("compiled and text indexes differ (-text +compiled):\n%s", d)
	}
	same := func(what string, a, b *Asset) {
		t.Helper()
		switch {
		case a == nil && b == nil:
		case a == nil || b == nil || a.Rule() != b.Rule() || a.Pos != b.Pos || a.Entity.ID != b.Entity.ID:
			t.Errorf("%s: text %v, compiled %v", what, a, b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range text.AllAssets() {
		switch a.Kind {
		case KindDomain:
			for _, n := range []string{a.Value, "x." + a.Value, "x" + a.Value} {
				same(n, text.LookupDomain(n), comp.LookupDomain(n))
			}
		case KindLabel:
			n := "a." + a.Value + ".example.com"
			same(n, text.LookupDomain(n), comp.LookupDomain(n))
		case KindPrefix:
			p := netip.MustParsePrefix(a.Value)
			for _, x := range []netip.Addr{p.Addr(), lastAddr(p), p.Addr().Prev(), lastAddr(p).Next(), randIn(rng, p)} {
				if x.IsValid() {
					same(x.String(), text.LookupAddr(x), comp.LookupAddr(x))
				}
			}
		case KindASN:
			var n uint32
			fmt.Sscanf(a.Value, "AS%d", &n)
			same(a.Value, text.LookupASN(n), comp.LookupASN(n))
		case KindCertOrg:
			same(a.Value, text.LookupCertOrg(a.Value), comp.LookupCertOrg(a.Value))
		case KindAndroidApp, KindIOSApp:
			same(a.Value, text.LookupApp(a.Value), comp.LookupApp(a.Value))
		case KindSDK:
			same(a.Value, text.LookupSDK(a.Value+".X"), comp.LookupSDK(a.Value+".X"))
		case KindProgram:
			same(a.Value, text.LookupProgram(a.Value), comp.LookupProgram(a.Value))
		case KindProtocol:
			same(a.Value, text.LookupProtocol(a.Value), comp.LookupProtocol(a.Value))
		case KindOUI:
			v, bits, _ := parseOUI(a.Value)
			mac := make(net.HardwareAddr, 6)
			x := v << (48 - bits)
			for i := range mac {
				mac[i] = byte(x >> (40 - 8*i))
			}
			same(a.Value, text.LookupMAC(mac), comp.LookupMAC(mac))
		}
	}
	for range 100000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		x := netip.AddrFrom4([4]byte(b[:4]))
		same(x.String(), text.LookupAddr(x), comp.LookupAddr(x))
		x = netip.AddrFrom16(b)
		same(x.String(), text.LookupAddr(x), comp.LookupAddr(x))
	}
	for _, s := range text.DNSServiceList() {
		for _, f := range s.Names {
			if text.LookupDNSServiceName(f.Value) != text.DNSServices[s.ID] || comp.LookupDNSServiceName(f.Value) != comp.DNSServices[s.ID] {
				t.Errorf("dns service name %s", f.Value)
			}
		}
		for _, p := range s.Prefixes {
			if comp.LookupDNSServiceAddr(p.Addr()) != comp.DNSServices[s.ID] {
				t.Errorf("dns service address %s", p)
			}
		}
	}
}

func randIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		if rng.UintN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// TestRangesAgainstBart: flattened ranges answer as bart's longest-prefix
// match does, with nested prefixes, the ends of the address space and both
// families.
func TestRangesAgainstBart(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var ref bart.Table[uint32]
		var p4, p6 []prefixVal
		add := func(p netip.Prefix) {
			p = p.Masked()
			if _, dup := ref.Get(p); dup {
				return
			}
			v := uint32(len(p4) + len(p6) + 1)
			ref.Insert(p, v)
			if p.Addr().Is4() {
				p4 = append(p4, prefixVal{p, v})
			} else {
				p6 = append(p6, prefixVal{p, v})
			}
		}
		if round%2 == 0 {
			add(netip.MustParsePrefix("0.0.0.0/0"))
			add(netip.MustParsePrefix("255.255.255.255/32"))
			add(netip.MustParsePrefix("::/0"))
			add(netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"))
		}
		// Few distinct high bits, so that prefixes nest often.
		for range 200 {
			var b [16]byte
			b[0] = byte(rng.UintN(4)) << 6
			for i := 1; i < 16; i++ {
				b[i] = byte(rng.UintN(256))
			}
			add(netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), int(rng.UintN(33))))
			add(netip.PrefixFrom(netip.AddrFrom16(b), int(rng.UintN(129))))
		}
		s4, v4 := buildRanges(p4)
		s6, v6 := buildRanges(p6)
		tab := rangeTab(s4, v4, s6, v6)
		check := func(x netip.Addr) {
			want, _ := ref.Lookup(x)
			if got := tab.lookup(x); got != want {
				t.Fatalf("round %d: %s: ranges say %d, bart %d", round, x, got, want)
			}
		}
		for _, pv := range append(p4, p6...) {
			for _, x := range []netip.Addr{pv.p.Addr(), lastAddr(pv.p), pv.p.Addr().Prev(), lastAddr(pv.p).Next(), randIn(rng, pv.p)} {
				if x.IsValid() {
					check(x)
				}
			}
		}
		for range 2000 {
			var b [16]byte
			b[0] = byte(rng.UintN(4)) << 6
			for i := 1; i < 16; i++ {
				b[i] = byte(rng.UintN(256))
			}
			check(netip.AddrFrom4([4]byte(b[:4])))
			check(netip.AddrFrom16(b))
		}
	}
}

// TestCompiledCorrupt: a truncated or altered blob is refused or read,
// never a panic; the version is checked.
func TestCompiledCorrupt(t *testing.T) {
	blob := builtin.Compiled
	other := string(binary.LittleEndian.AppendUint32(nil, CompiledVersion+1))
	if _, err := openCompiled(blob[:len(compiledMagic)]+other+blob[len(compiledMagic)+4:], testNow); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("version %d,", CompiledVersion+1)) {
		t.Fatalf("another version: %v", err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		n := rng.IntN(len(blob))
		if _, err := openCompiled(blob[:n], testNow); err == nil {
			t.Fatalf("truncated at %d: no error", n)
		}
		b := []byte(blob)
		for range 1 + i%4 {
			b[rng.IntN(len(b))] ^= byte(1 + rng.UintN(255))
		}
		if ix, err := openCompiled(string(b), testNow); err == nil {
			for range 100 {
				ix.LookupAddr(netip.AddrFrom4([4]byte{byte(rng.UintN(256)), byte(rng.UintN(256)), 1, 2}))
			}
			ix.AllAssets()
		}
	}
}

func BenchmarkOpenCompiled(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openCompiled(builtin.Compiled, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenText(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		textIndex(b)
	}
}

// TestCompiledConcurrentLookups: prefix and other Assets made on first
// use are made once, whichever goroutine gets there first.
func TestCompiledConcurrentLookups(t *testing.T) {
	ix, err := openCompiled(builtin.Compiled, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what, value, entity string
		lookup              func() *Asset
	}{
		{"1.48.0.1", "1.48.0.0/18", "china-telecom", func() *Asset { return ix.LookupAddr(netip.MustParseAddr("1.48.0.1")) }},
		{"www.tiktok.com", "tiktok.com", "tiktok", func() *Asset { return ix.LookupDomain("www.tiktok.com") }},
	} {
		got := make(chan *Asset, 8)
		for range cap(got) {
			go func() { got <- tc.lookup() }()
		}
		first := <-got
		if first == nil || first.Value != tc.value || first.Entity.ID != tc.entity {
			t.Fatalf("%s: %+v", tc.what, first)
		}
		for range cap(got) - 1 {
			if a := <-got; a != first {
				t.Fatalf("%s: two Assets made for one", tc.what)
			}
		}
	}
	// Assets() makes the rest: the one made by the lookups among them.
	tiktok := ix.LookupDomain("tiktok.com")
	n := 0
	for _, a := range ix.Assets() {
		if a == nil {
			t.Fatal("Assets() holds nil")
		}
		if a.Kind == KindDomain && a.Value == "tiktok.com" {
			n++
			if a != tiktok {
				t.Fatal("Assets() made tiktok.com again")
			}
		}
	}
	if n != 1 {
		t.Fatalf("tiktok.com %d times in Assets()", n)
	}
}

func TestValidSlugAndCountry(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "acme-2": true, "a-b-c": true, "": false, "-a": false, "a-": false, "a--b": false, "A": false, "a_b": false, "a.b": false} {
		if validSlug(s) != want {
			t.Errorf("validSlug(%q) = %v", s, !want)
		}
	}
	for _, c := range strings.Fields(iso3166) {
		if !validCountry(c) {
			t.Errorf("validCountry(%q) = false", c)
		}
	}
	for _, c := range []string{"", "C", "CNN", "cn", "XX", "AA", "ZZ", "A ", " A"} {
		if validCountry(c) {
			t.Errorf("validCountry(%q) = true", c)
		}
	}
	for i := 3; i < len(iso3166); i += 3 {
		if iso3166[i-3:i-1] >= iso3166[i:i+2] {
			t.Fatalf("iso3166 is not sorted at %s", iso3166[i:i+2])
		}
	}
}

// BenchmarkLookupAddr compares the text path's bart table with the
// compiled ranges, on the same addresses (hits and misses, both families).
func BenchmarkLookupAddr(b *testing.B) {
	comp, err := openCompiled(builtin.Compiled, testNow)
	if err != nil {
		b.Fatal(err)
	}
	text := textIndex(b)
	for _, fam := range []struct {
		name  string
		addrs []netip.Addr
	}{
		{"v4", []netip.Addr{netip.MustParseAddr("71.18.8.1"), netip.MustParseAddr("8.209.76.194"), netip.MustParseAddr("142.250.185.68"), netip.MustParseAddr("36.110.1.1")}},
		{"v6", []netip.Addr{netip.MustParseAddr("2409:8c00::1"), netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("240e:e9::1"), netip.MustParseAddr("2a03:2880::1")}},
	} {
		for _, ix := range []struct {
			name string
			ix   *Index
		}{{"text", text}, {"compiled", comp}} {
			b.Run(fam.name+"/"+ix.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					ix.ix.LookupAddr(fam.addrs[i&3])
				}
			})
		}
	}
}
