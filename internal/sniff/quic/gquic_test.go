package quic

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/sniff/internal/pcaptest"
)

// TestGoogleCHLOCaptures names the Google QUIC flows of the 2015 and 2017
// captures as nDPI does (ndpi-expected/*.out, Hostname/SNI of the QUIC
// flows): the first CHLO of each client flow. The user agents are as
// found in the captures.
func TestGoogleCHLOCaptures(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int // "sni | uaid" -> flows
	}{
		{"quic.pcap", map[string]int{
			"mail.google.com | beta Chrome/43.0.2357.45":           1,
			"www.youtube.com | Chrome/49.0.2623.87 Linux x86_64":   1,
			"www.youtube.com | Chrome/50.0.2661.102 Linux x86_64":  1,
			"fonts.gstatic.com | Chrome/49.0.2623.87 Linux x86_64": 1,
			"s.ytimg.com | Chrome/49.0.2623.87 Linux x86_64":       1,
			"www.google.com | Chrome/49.0.2623.87 Linux x86_64":    1,
			"i.ytimg.com | Chrome/49.0.2623.87 Linux x86_64":       1,
			"yt3.ggpht.com | Chrome/49.0.2623.87 Linux x86_64":     1,
			" | ": 1, // 10.0.0.4 -> 10.0.0.3:6121, a CHLO without SNI
		}},
		{"youtube_quic.pcap", map[string]int{
			"yt3.ggpht.com | beta Chrome/57.0.2987.98 Intel Mac OS X 10_12_3":                 1,
			"googleads.g.doubleclick.net | beta Chrome/57.0.2987.98 Intel Mac OS X 10_12_3":   1,
			"pagead2.googlesyndication.com | beta Chrome/57.0.2987.98 Intel Mac OS X 10_12_3": 1,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := map[string]int{}
			seen := map[[2]netip.AddrPort]bool{}
			for _, p := range pcaptest.Payloads(t, tc.file) {
				k := [2]netip.AddrPort{p.Src, p.Dst}
				if p.Proto != "udp" || seen[k] {
					continue
				}
				sni, uaid, err := GoogleCHLO(p.Payload)
				if errors.Is(err, ErrNoCHLO) {
					continue
				}
				if err != nil {
					t.Errorf("packet %d: %v", p.Index, err)
					continue
				}
				seen[k] = true
				got[sni+" | "+uaid]++
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CHLOs (-want +got):\n%s", diff)
			}
		})
	}
}

func chlo(tags ...string) []byte {
	// tags: name, value, name, value...
	n := len(tags) / 2
	b := append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3', 1}, make([]byte, 12)...)
	b = append(b, 0xa0, 0x01, 0x00, 0x04)
	b = append(b, "CHLO"...)
	b = append(b, byte(n), byte(n>>8), 0, 0)
	end := 0
	for i := 0; i < len(tags); i += 2 {
		end += len(tags[i+1])
		b = append(b, tags[i]...)
		b = append(b, byte(end), byte(end>>8), byte(end>>16), byte(end>>24))
	}
	for i := 1; i < len(tags); i += 2 {
		b = append(b, tags[i]...)
	}
	return b
}

func TestGoogleCHLO(t *testing.T) {
	badOffset := chlo("SNI\x00", "a.example")
	badOffset[len(badOffset)-len("a.example")-4] = 0xff
	tests := []struct {
		name     string
		in       []byte
		wantSNI  string
		wantUAID string
		wantErr  error
	}{
		{"sni and uaid", chlo("PAD\x00", "\x2d\x2d", "SNI\x00", "Www.Example.COM", "UAID", "Test UA/1"), "www.example.com", "Test UA/1", nil},
		{"no sni", chlo("VER\x00", "Q043"), "", "", nil},
		{"ietf initial", readHex(t, "rfc9001-a2-client-initial.hex"), "", "", ErrNoCHLO},
		{"too short", []byte{0x0d, 1, 2}, "", "", ErrNoCHLO},
		{"sni with space", chlo("SNI\x00", "a b"), "", "", ErrMalformed},
		{"offset past datagram", badOffset, "", "", ErrMalformed},
		{"no tags", chlo(), "", "", ErrMalformed},
		{"table past end", chlo("SNI\x00", "x")[:42], "", "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sni, uaid, err := GoogleCHLO(tc.in)
			if !errors.Is(err, tc.wantErr) || sni != tc.wantSNI || uaid != tc.wantUAID {
				t.Errorf("got %q %q %v, want %q %q %v", sni, uaid, err, tc.wantSNI, tc.wantUAID, tc.wantErr)
			}
		})
	}
}

func FuzzGoogleCHLO(f *testing.F) {
	f.Add(chlo("SNI\x00", "a.example", "UAID", "ua"))
	pkts := pcaptest.Seeds(f, "youtube_quic.pcap")
	for _, p := range pkts[:min(20, len(pkts))] {
		f.Add(p.Payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sni, uaid, err := GoogleCHLO(b)
		if err != nil && (sni != "" || uaid != "") {
			t.Fatal("values with an error")
		}
		if len(sni) > 255 || len(uaid) > 255 {
			t.Fatalf("values of %d and %d bytes", len(sni), len(uaid))
		}
	})
}
