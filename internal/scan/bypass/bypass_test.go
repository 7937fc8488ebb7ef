package bypass

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/flowrec"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func finder(t testing.TB) *Finder {
	t.Helper()
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return New(attribute.New(ix))
}

// fl is a flow of device 192.168.1.5 starting sec seconds after t0.
func fl(peer string, proto uint8, port uint16, sec int) flowrec.Flow {
	at := t0.Add(time.Duration(sec) * time.Second).UnixNano()
	return flowrec.Flow{Device: netip.MustParseAddr("192.168.1.5"), Peer: netip.MustParseAddr(peer), DevicePort: 40000, PeerPort: port,
		Proto: proto, BytesOut: 500, BytesIn: 900, PacketsOut: 4, PacketsIn: 4, First: at, Last: at + int64(time.Second)}
}

// dnsFlow is the device asking the network's resolver.
func dnsFlow(sec int) flowrec.Flow { return fl("192.168.1.1", flowrec.UDP, 53, sec) }

// resolved is a flow to an address the device got a DNS answer for.
func resolved(peer, name string, sec int) flowrec.Flow {
	f := fl(peer, flowrec.TCP, 443, sec)
	f.DNSName, f.SNI = name, name
	return f
}

func with(f flowrec.Flow, edit func(*flowrec.Flow)) flowrec.Flow {
	edit(&f)
	return f
}

func TestFind(t *testing.T) {
	fd := finder(t)
	tests := []struct {
		name  string
		flows []flowrec.Flow
		want  string // kind peer:port service owner, one per entry, ";"-separated
		ev    string // an evidence value one entry must hold
	}{
		{"doh by name", []flowrec.Flow{dnsFlow(0), with(fl("1.1.1.1", flowrec.TCP, 443, 1), func(f *flowrec.Flow) {
			f.SNI, f.Hidden = "cloudflare-dns.com", flowrec.HiddenDoH
		})}, "doh 1.1.1.1:443 cloudflare-public-dns cloudflare", "cloudflare-dns.com"},
		{"doh by catalogued address, no name", []flowrec.Flow{fl("8.8.4.4", flowrec.TCP, 443, 1)},
			"doh 8.8.4.4:443 google-public-dns google", "Google Public DNS (public-resolver)"},
		{"dot", []flowrec.Flow{with(fl("9.9.9.9", flowrec.TCP, 853, 1), func(f *flowrec.Flow) { f.SNI, f.Hidden = "dns.quad9.net", flowrec.HiddenDoT })},
			"dot 9.9.9.9:853 quad9-public-dns quad9", "tcp/853"},
		{"dot to an uncatalogued resolver: no owner", []flowrec.Flow{with(fl("203.0.113.9", flowrec.TCP, 853, 1), func(f *flowrec.Flow) { f.Hidden = flowrec.HiddenDoT })},
			"dot 203.0.113.9:853 - -", "tcp/853"},
		{"doq", []flowrec.Flow{with(fl("203.0.113.10", flowrec.UDP, 853, 1), func(f *flowrec.Flow) { f.Hidden = flowrec.HiddenDoQ })},
			"doq 203.0.113.10:853 - -", "udp/853"},
		{"tcp 853 with no TLS seen to nobody known: nothing", []flowrec.Flow{fl("203.0.113.10", flowrec.TCP, 853, 1)}, "", ""},
		{"httpdns request to alibaba", []flowrec.Flow{dnsFlow(0), with(fl("203.107.1.65", flowrec.TCP, 80, 1), func(f *flowrec.Flow) {
			f.HTTPHost, f.HTTPDNS = "203.107.1.65", "GET /sign_d?host=appmarket.micloud.xiaomi.net"
		})}, "httpdns 203.107.1.65:80 alibaba-cloud-httpdns alibaba-cloud", "GET /sign_d?host=appmarket.micloud.xiaomi.net"},
		{"httpdns request to an unknown address: no owner", []flowrec.Flow{with(fl("198.51.100.7", flowrec.TCP, 80, 1), func(f *flowrec.Flow) {
			f.HTTPDNS = "GET /d?host=www.example.com"
		})}, "httpdns 198.51.100.7:80 - -", "GET /d?host=www.example.com"},
		{"https to tencent httpdns", []flowrec.Flow{fl("43.132.55.56", flowrec.TCP, 443, 1)},
			"httpdns 43.132.55.56:443 tencent-cloud-httpdns tencent-cloud", ""},
		{"hard-coded tiktok address", []flowrec.Flow{dnsFlow(0), resolved("142.250.185.68", "www.google.com", 1), fl("71.18.247.10", flowrec.TCP, 443, 5)},
			"hardcoded-address 71.18.247.10:443 - tiktok", "no DNS answer for 71.18.247.10; the device's DNS was seen in 2 other flow(s)"},
		{"hard-coded beside doh names the doh", []flowrec.Flow{dnsFlow(0), fl("1.1.1.1", flowrec.TCP, 443, 1), fl("71.18.247.10", flowrec.TCP, 443, 5)},
			"doh 1.1.1.1:443 cloudflare-public-dns cloudflare;hardcoded-address 71.18.247.10:443 - tiktok", "the device also used doh, which may have given the address"},
		{"tiktok address resolved: normal", []flowrec.Flow{dnsFlow(0), resolved("71.18.247.10", "www.tiktok.com", 5)}, "", ""},
		{"tiktok address in an exported record: answers unseen, no verdict", []flowrec.Flow{dnsFlow(0),
			with(fl("71.18.247.10", flowrec.TCP, 443, 5), func(f *flowrec.Flow) { f.NoDNS = true })}, "", ""},
		{"doh in an exported record is still doh", []flowrec.Flow{with(fl("8.8.4.4", flowrec.TCP, 443, 1), func(f *flowrec.Flow) { f.NoDNS = true })},
			"doh 8.8.4.4:443 google-public-dns google", ""},
		{"tiktok address, device never used DNS", []flowrec.Flow{fl("71.18.247.10", flowrec.TCP, 443, 5)}, "", ""},
		{"tiktok address before the first DNS: maybe cached", []flowrec.Flow{fl("71.18.247.10", flowrec.TCP, 443, 0), dnsFlow(3)}, "", ""},
		{"cloud address (host role) unresolved: not hard-coded", []flowrec.Flow{dnsFlow(0), fl("8.128.0.10", flowrec.TCP, 443, 5)}, "", ""},
		{"ech stays name hidden", []flowrec.Flow{dnsFlow(0), with(fl("1.1.1.1", flowrec.TCP, 443, 1), func(f *flowrec.Flow) {
			f.SNI, f.Hidden = "cloudflare-ech.com", flowrec.HiddenECH
		})}, "", ""},
		{"plain DNS to a public resolver is not one of the kinds", []flowrec.Flow{fl("8.8.8.8", flowrec.UDP, 53, 1)}, "", ""},
		{"normal browsing", []flowrec.Flow{dnsFlow(0), resolved("142.250.185.68", "www.google.com", 1), resolved("185.15.59.224", "www.wikipedia.org", 2)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fd.Find(tc.flows)
			var lines []string
			evFound := tc.ev == ""
			for _, e := range got {
				svc, owner := e.Service, e.Owner
				if svc == "" {
					svc = "-"
				}
				if owner == "" {
					owner = "-"
				}
				lines = append(lines, string(e.Kind)+" "+e.Peer+":"+strconv.Itoa(int(e.Port))+" "+svc+" "+owner)
				for _, ev := range e.Evidence {
					evFound = evFound || ev.Value == tc.ev
				}
				if e.Flows != 1 || e.BytesOut != 500 || e.FirstSeen == "" {
					t.Errorf("entry %+v: want 1 flow of 500 bytes out with times", e)
				}
			}
			if s := strings.Join(lines, ";"); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
			if !evFound {
				t.Errorf("no evidence %q in %+v", tc.ev, got)
			}
		})
	}
}

// The evidence cites the catalog: the DNS service's rule and source, the
// address's prefix rule.
func TestEvidenceCitesCatalog(t *testing.T) {
	fd := finder(t)
	got := fd.Find([]flowrec.Flow{dnsFlow(0), fl("203.107.1.65", flowrec.TCP, 80, 1), fl("71.18.247.10", flowrec.TCP, 443, 2)})
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	for _, e := range got {
		cited := false
		for _, ev := range e.Evidence {
			if ev.Rule != "" && ev.Source != "" && ev.AsOf != "" {
				cited = true
			}
		}
		if !cited {
			t.Errorf("%s %s: no catalog rule in %+v", e.Kind, e.Peer, e.Evidence)
		}
	}
}

// Flows to the same peer add up in one entry; entries are bounded.
func TestWindowSumsAndBounds(t *testing.T) {
	fd := finder(t)
	var w Window
	for i := 0; i < 3; i++ {
		f := fl("1.1.1.1", flowrec.TCP, 443, i)
		fd.Add(&w, &f)
	}
	for i := 0; i < MaxEntries+10; i++ {
		f := with(fl(netip.AddrFrom4([4]byte{203, 0, byte(113 + i/250), byte(i % 250)}).String(), flowrec.TCP, 853, i), func(f *flowrec.Flow) { f.Hidden = flowrec.HiddenDoT })
		fd.Add(&w, &f)
	}
	got := w.Entries()
	if len(got) != MaxEntries || w.Dropped != 11 {
		t.Fatalf("%d entries, %d dropped; want %d and 11", len(got), w.Dropped, MaxEntries)
	}
	for _, e := range got {
		if e.Kind == DoH && (e.Flows != 3 || e.BytesIn != 2700) {
			t.Errorf("doh entry %+v, want 3 flows", e)
		}
	}
}

// Flows that are no bypass cost no allocation: Add runs for every flow.
func TestAddAllocs(t *testing.T) {
	fd := finder(t)
	var w Window
	f := resolved("142.250.185.68", "www.google.com", 1)
	if n := testing.AllocsPerRun(100, func() { fd.Add(&w, &f) }); n != 0 {
		t.Errorf("%v allocations per ordinary flow, want 0", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	fd := finder(b)
	var w Window
	f := resolved("142.250.185.68", "www.google.com", 1)
	b.ReportAllocs()
	for b.Loop() {
		fd.Add(&w, &f)
	}
}
