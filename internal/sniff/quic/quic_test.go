package quic

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/sniff/internal/pcaptest"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

func readHex(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			sb.WriteString(strings.ReplaceAll(line, " ", ""))
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var rfcDCID = unhex("8394c8f03e515708")

func TestInitialKeys(t *testing.T) {
	tests := []struct {
		name        string
		version     uint32
		server      bool
		key, iv, hp string
	}{
		// RFC 9001 appendix A.1.
		{"v1 client", Version1, false, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{"v1 server", Version1, true, "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"},
		// RFC 9369 appendix A.1.
		{"v2 client", Version2, false, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"},
		{"v2 server", Version2, true, "82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"},
		// draft-ietf-quic-tls-29 appendix A.
		{"draft-29 client", VersionDraft29, false, "175257a31eb09dea9366d8bb79ad80ba", "6b26114b9cba2b63a9e8dd4f", "9f50449e04a0e810283a1e9933adedd2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ClientInitialKeys
			if tc.server {
				f = ServerInitialKeys
			}
			k, err := f(tc.version, rfcDCID)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%x %x", k.Key, k.IV)
			if want := tc.key + " " + tc.iv; got != want {
				t.Errorf("key iv %s, want %s", got, want)
			}
			if tc.version != VersionDraft29 && fmt.Sprintf("%x", k.HP) != tc.hp {
				t.Errorf("hp %x, want %s", k.HP, tc.hp)
			}
		})
	}
	if _, err := ClientInitialKeys(0x51303530, rfcDCID); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("Q050 keys: %v", err)
	}
}

// TestRFCClientInitial decrypts the client Initial of the RFCs' appendices
// and rebuilds it byte for byte.
func TestRFCClientInitial(t *testing.T) {
	frame := readHex(t, "rfc9001-a2-crypto-frame.hex")
	payload := append(frame, make([]byte, 1162-len(frame))...)
	tests := []struct {
		file    string
		version uint32
	}{
		{"rfc9001-a2-client-initial.hex", Version1},
		{"rfc9369-a2-client-initial.hex", Version2},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			pkt := readHex(t, tc.file)
			if !LooksLikeInitial(pkt) {
				t.Fatal("LooksLikeInitial = false")
			}
			info, err := ParseClientInitial(pkt)
			if err != nil {
				t.Fatal(err)
			}
			got := describe(info)
			want := fmt.Sprintf("v=%#08x dcid=8394c8f03e515708 scid= packets=1 sni=example.com alpn=[alpn] versions=[304] ech=false quic=true", tc.version)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			sealed, err := SealClientInitial(tc.version, rfcDCID, nil, nil, 2, payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sealed, pkt) {
				t.Errorf("SealClientInitial differs from the RFC packet:\n got %x...\nwant %x...", sealed[:40], pkt[:40])
			}
		})
	}
}

func describe(i Info) string {
	return fmt.Sprintf("v=%#08x dcid=%s scid=%s packets=%d sni=%s alpn=%v versions=%x ech=%v quic=%v",
		i.Version, i.DCID, i.SCID, i.Packets, i.Hello.SNI, i.Hello.ALPN(), i.Hello.Versions(), i.Hello.ECH, i.Hello.QUIC)
}

// TestCaptures runs every UDP payload of the QUIC captures through the
// parser. The Google QUIC captures (2015, 2017) must be recognised and
// rejected, never misparsed.
func TestCaptures(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int // outcome -> datagrams
	}{
		// nDPI: one QUIC flow, SNI "test", ALPN h3, TLS 1.3.
		{"quic-v2.pcapng", map[string]int{
			"v=0x6b3343cf dcid=0726272642fc2eb2 scid=11fffdea452422b8 packets=1 sni=test alpn=[h3] versions=[304] ech=false quic=true": 1,
			// The server's Initial decrypts with server keys only.
			"decrypt":     1,
			"not initial": 1, // client Handshake packet
			"not quic":    16,
		}},
		// Client packets carry the version flag until the server answers.
		{"quic.pcap", map[string]int{"google quic": 17, "not quic": 501}},
		{"youtube_quic.pcap", map[string]int{"google quic": 6, "not quic": 283}},
		// Not QUIC at all.
		{"dns.pcap", map[string]int{"not quic": 5}},
		{"tuya_lp.pcap", map[string]int{"not quic": 98}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := map[string]int{}
			for _, p := range pcaptest.Payloads(t, tc.file) {
				if p.Proto != "udp" {
					continue
				}
				info, err := ParseClientInitial(p.Payload)
				switch {
				case err == nil:
					got[describe(info)]++
				case errors.Is(err, ErrGoogleQUIC):
					got["google quic"]++
				case errors.Is(err, ErrNotQUIC):
					got["not quic"]++
				case errors.Is(err, ErrNotInitial):
					got["not initial"]++
				case errors.Is(err, ErrDecrypt):
					got["decrypt"]++
				default:
					t.Errorf("packet %d %v->%v: %v", p.Index, p.Src, p.Dst, err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRoundTrip(t *testing.T) {
	bigALPN := make([]string, 40)
	for i := range bigALPN {
		bigALPN[i] = fmt.Sprintf("proto-%02d-%s", i, strings.Repeat("x", 40))
	}
	tests := []struct {
		name      string
		version   uint32
		dcid      []byte
		scid      []byte
		sni       string
		alpn      []string
		datagrams int
		reverse   bool
	}{
		{"v1", Version1, unhex("0001020304050607"), unhex("a1a2a3a4"), "www.example.com", []string{"h3"}, 1, false},
		{"v2", Version2, unhex("0001020304050607"), nil, "v2.example", []string{"h3"}, 1, false},
		{"draft-29", VersionDraft29, unhex("08090a0b0c0d0e0f"), unhex("01"), "draft.example", []string{"h3-29"}, 1, false},
		{"empty dcid", Version1, nil, nil, "nodcid.example", nil, 1, false},
		{"20-byte ids", Version1, bytes.Repeat([]byte{7}, 20), bytes.Repeat([]byte{8}, 20), "long.ids.example", []string{"h3"}, 1, false},
		{"two datagrams", Version1, unhex("1112131415161718"), nil, "big.example", bigALPN, 2, false},
		{"two datagrams out of order", Version2, unhex("1112131415161718"), nil, "big.example", bigALPN, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hello := tlshello.BuildQUICClientHello(tc.sni, tc.alpn, tc.scid)
			ds, err := BuildClientInitials(tc.version, tc.dcid, tc.scid, hello)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != tc.datagrams {
				t.Fatalf("%d datagrams, want %d", len(ds), tc.datagrams)
			}
			for i, d := range ds {
				if len(d) != MinInitialDatagram {
					t.Errorf("datagram %d is %d bytes", i, len(d))
				}
			}
			if tc.reverse {
				ds[0], ds[1] = ds[1], ds[0]
			}
			var a Assembler
			for i, d := range ds {
				err := a.Add(d)
				if i < len(ds)-1 && !errors.Is(err, ErrNeedMore) {
					t.Fatalf("datagram %d: %v, want ErrNeedMore", i, err)
				}
				if i == len(ds)-1 && err != nil {
					t.Fatalf("last datagram: %v", err)
				}
			}
			info := a.Info()
			if info.Hello.SNI != tc.sni || info.Version != tc.version || info.Packets != tc.datagrams ||
				!bytes.Equal(info.DCID.Bytes(), tc.dcid) || !bytes.Equal(info.SCID.Bytes(), tc.scid) {
				t.Errorf("got %s", describe(info))
			}
			if !a.Done() || a.Add(ds[0]) != nil {
				t.Error("Assembler not done after the ClientHello")
			}
			if len(ds) == 1 {
				single, err := BuildClientInitial(tc.version, tc.dcid, tc.scid, tlshello.BuildClientHello(tc.sni, tc.alpn))
				if err != nil {
					t.Fatal(err)
				}
				if info, err := ParseClientInitial(single); err != nil || info.Hello.SNI != tc.sni {
					t.Errorf("from a TLS record: %q, %v", info.Hello.SNI, err)
				}
			} else if _, err := BuildClientInitial(tc.version, tc.dcid, tc.scid, hello); !errors.Is(err, ErrTooLarge) {
				t.Errorf("BuildClientInitial of a big hello: %v", err)
			}
		})
	}
}

// manyFragments sends every other byte of hello as its own CRYPTO frame.
func manyFragments(hello []byte) []byte {
	var b []byte
	for i := 2; i < len(hello) && i < 2*maxPending+4; i += 2 {
		b = append(b, crypto(i, hello[i:i+1])...)
	}
	return b
}

// frames helpers for hand-made payloads.
func crypto(off int, data []byte) []byte { return cryptoFrame(nil, uint64(off), data) }
func join(parts ...[]byte) []byte        { return bytes.Join(parts, nil) }

func TestFrames(t *testing.T) {
	dcid := unhex("c0c1c2c3c4c5c6c7")
	hello := tlshello.BuildQUICClientHello("frames.example", []string{"h3"}, nil)
	n := len(hello)
	ack := []byte{0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x02} // largest 5, delay, 1 range, first 0, gap 1 len 2
	ackECN := []byte{0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03}
	closeFrame := []byte{0x1c, 0x00, 0x00, 0x02, 'h', 'i'}
	tests := []struct {
		name    string
		payload []byte
		wantErr error
	}{
		{"one crypto frame", crypto(0, hello), nil},
		// Chrome's chaos protection: out-of-order fragments, PING and
		// PADDING between them.
		{"chaos", join(crypto(2*n/3, hello[2*n/3:]), []byte{1, 0, 0, 0}, crypto(n/3, hello[n/3:2*n/3]), []byte{1}, crypto(0, hello[:n/3]), make([]byte, 50)), nil},
		{"overlapping fragments", join(crypto(0, hello[:200]), crypto(150, hello[150:]), crypto(10, hello[10:20])), nil},
		{"ack and close frames", join(ack, ackECN, crypto(0, hello), closeFrame), nil},
		{"empty crypto frame", join(crypto(50, nil), crypto(0, hello)), nil},
		{"only padding", make([]byte, 100), ErrNeedMore},
		{"missing middle", join(crypto(0, hello[:100]), crypto(200, hello[200:])), ErrNeedMore},
		{"more fragments than kept", manyFragments(hello), ErrMalformed},
		{"stream frame", join([]byte{0x08, 0x00, 0x01}, crypto(0, hello)), ErrMalformed},
		{"truncated crypto", []byte{0x06, 0x00, 0x44, 0x00, 1, 2, 3}, ErrMalformed},
		{"truncated ack", []byte{0x02, 0x05, 0x00, 0x3f, 0x00}, ErrMalformed},
		{"crypto beyond bound", crypto(MaxCrypto, []byte{1}), ErrMalformed},
		{"not a client hello", crypto(0, []byte{2, 0, 0, 4, 3, 3, 0, 0}), ErrMalformed},
		{"bad client hello", crypto(0, []byte{1, 0, 0, 4, 3, 3, 0, 0}), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkt, err := SealClientInitial(Version1, dcid, nil, nil, 0, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseClientInitial(pkt)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || info.Hello.SNI != "frames.example" {
				t.Fatalf("%q, %v", info.Hello.SNI, err)
			}
		})
	}
}

func TestCoalescedAndLaterPackets(t *testing.T) {
	dcid := unhex("d0d1d2d3d4d5d6d7")
	hello := tlshello.BuildQUICClientHello("coalesced.example", []string{"h3"}, nil)
	p1, _ := SealClientInitial(Version1, dcid, nil, nil, 0, crypto(0, hello[:150]))
	p2, _ := SealClientInitial(Version1, dcid, nil, nil, 1, crypto(150, hello[150:]))
	// A 0-RTT packet (type 1) with a valid length, then datagram padding.
	zeroRTT := join([]byte{0xd3, 0, 0, 0, 1, 8}, dcid, []byte{0, 0x40, 24}, make([]byte, 24))
	full, _ := SealClientInitial(Version1, dcid, nil, nil, 0, crypto(0, hello))
	// After the server's Initial, the client addresses the server's
	// connection ID but keeps the keys of its first DCID.
	serverCID := unhex("5e5e5e5e")
	later, _ := seal(Version1, dcid, serverCID, nil, nil, 2, crypto(150, hello[150:]))
	// After a Retry, keys derive from the new DCID and the CRYPTO stream
	// starts over.
	retryCID := unhex("7777777777777777")
	retried, _ := SealClientInitial(Version1, retryCID, nil, nil, 1, crypto(0, hello))

	tests := []struct {
		name      string
		datagrams [][]byte
		packets   int
		dcid      []byte
	}{
		{"two initials in one datagram", [][]byte{join(p1, p2)}, 2, dcid},
		{"initial, 0-RTT and padding", [][]byte{join(full, zeroRTT, make([]byte, 30))}, 1, dcid},
		{"second initial to the server's cid", [][]byte{p1, later}, 2, dcid},
		{"retry", [][]byte{p1, retried}, 2, retryCID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a Assembler
			var err error
			for _, d := range tc.datagrams {
				err = a.Add(d)
			}
			info := a.Info()
			if err != nil || info.Hello.SNI != "coalesced.example" || info.Packets != tc.packets || !bytes.Equal(info.DCID.Bytes(), tc.dcid) {
				t.Fatalf("%s, %v", describe(info), err)
			}
			a.Reset()
			if a.Done() || a.Info().Packets != 0 {
				t.Error("Reset kept state")
			}
		})
	}
}

func TestRejects(t *testing.T) {
	dcid := unhex("e0e1e2e3e4e5e6e7")
	good, err := BuildClientInitial(Version1, dcid, nil, tlshello.BuildQUICClientHello("r.example", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(good)
	corrupt[600] ^= 1
	wrongKeys, _ := seal(Version1, unhex("00"), dcid, nil, nil, 0, crypto(0, []byte{1}))
	handshake := join([]byte{0xe0, 0, 0, 0, 1, 8}, dcid, []byte{0, 0x40, 48}, make([]byte, 48))
	gquic043 := join([]byte{0x0d}, make([]byte, 8), []byte("Q043"), make([]byte, 40))
	gquic046 := join([]byte{0xc3}, []byte("Q046"), []byte{0x50}, make([]byte, 40))
	tests := []struct {
		name    string
		b       []byte
		wantErr error
	}{
		{"empty", nil, ErrNotQUIC},
		{"one byte", []byte{0xc0}, ErrNotQUIC},
		{"short header", append([]byte{0x40}, good[1:]...), ErrNotQUIC},
		{"dns query", unhex("abcd01000001000000000000076578616d706c6503636f6d0000010001"), ErrNotQUIC},
		{"gquic Q043", gquic043, ErrGoogleQUIC},
		{"gquic Q046 long header", gquic046, ErrGoogleQUIC},
		{"version negotiation", join([]byte{0x80, 0, 0, 0, 0, 0, 0}, []byte{0, 0, 0, 1}), ErrNotInitial},
		{"unknown version", join([]byte{0xc0, 0x12, 0x34, 0x56, 0x78}, good[5:]), ErrNotQUIC},
		{"unknown version, fixed bit clear", join([]byte{0x80, 0xff, 0, 0, 0x05}, good[5:]), ErrNotQUIC},
		{"old draft version", join([]byte{0xc0, 0xff, 0, 0, 0x05}, good[5:]), ErrUnsupportedVersion},
		{"grease version", join([]byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a}, good[5:]), ErrUnsupportedVersion},
		{"dcid too long", join(good[:5], []byte{21}, good[6:]), ErrNotQUIC},
		{"length beyond datagram", good[:900], ErrNotQUIC},
		{"handshake packet", handshake, ErrNotInitial},
		{"corrupted", corrupt, ErrDecrypt},
		{"wrong keys", wrongKeys, ErrDecrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseClientInitial(tc.b)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if LooksLikeInitial(tc.b) != (tc.wantErr == ErrDecrypt) {
				t.Errorf("LooksLikeInitial = %v", !(tc.wantErr == ErrDecrypt))
			}
		})
	}
}

// TestRejectAllocs pins the cheap path: datagrams that are not client
// Initials cost no allocation.
func TestRejectAllocs(t *testing.T) {
	inputs := map[string][]byte{
		"short header": append([]byte{0x40}, make([]byte, 1199)...),
		"gquic":        join([]byte{0x0d}, make([]byte, 8), []byte("Q043"), make([]byte, 40)),
		"dns":          unhex("abcd01000001000000000000076578616d706c6503636f6d0000010001"),
		"unknown ver":  join([]byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 0}, make([]byte, 60)),
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(50, func() { _, _ = ParseClientInitial(b) }); n != 0 {
				t.Errorf("ParseClientInitial: %v allocations", n)
			}
			if n := testing.AllocsPerRun(50, func() { _ = LooksLikeInitial(b) }); n != 0 {
				t.Errorf("LooksLikeInitial: %v allocations", n)
			}
		})
	}
}

func TestDecodePN(t *testing.T) {
	tests := []struct {
		largest   int64
		truncated uint64
		pnLen     int
		want      uint64
	}{
		{-1, 0, 1, 0},
		{-1, 2, 4, 2},
		{0xa82f30ea, 0x9b32, 2, 0xa82f9b32}, // RFC 9000 appendix A.3
		{255, 0x01, 1, 257},
		{300, 0xff, 1, 255},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%x", tc.largest, tc.truncated), func(t *testing.T) {
			if got := decodePN(tc.largest, tc.truncated, tc.pnLen); got != tc.want {
				t.Errorf("got %#x, want %#x", got, tc.want)
			}
		})
	}
}

func FuzzParseClientInitial(f *testing.F) {
	f.Add(readHex(f, "rfc9001-a2-client-initial.hex"))
	f.Add(readHex(f, "rfc9369-a2-client-initial.hex"))
	for _, p := range pcaptest.Seeds(f, "quic-v2.pcapng") {
		f.Add(p.Payload)
	}
	f.Add(join([]byte{0x0d}, make([]byte, 8), []byte("Q043"), make([]byte, 40)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Assembler
		_ = a.Add(b)
		_ = a.Add(b)
		_ = LooksLikeInitial(b)
	})
}

// FuzzInitialPayload seals arbitrary bytes as the payload of a valid client
// Initial, so that the frame parser and CRYPTO reassembly, which raw fuzzing
// cannot reach through the AEAD, see hostile plaintext.
func FuzzInitialPayload(f *testing.F) {
	hello := tlshello.BuildQUICClientHello("fuzz.example", []string{"h3"}, nil)
	f.Add(crypto(0, hello))
	f.Add(join(crypto(200, hello[200:]), []byte{1, 0, 0}, crypto(0, hello[:200])))
	f.Add([]byte{0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x02, 0x06, 0x00, 0x01, 0x01})
	dcid := unhex("0102030405060708")
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 4000 {
			return
		}
		pkt, err := SealClientInitial(Version1, dcid, nil, nil, 0, payload)
		if err != nil {
			t.Fatal(err)
		}
		var a Assembler
		err = a.Add(pkt)
		if errors.Is(err, ErrDecrypt) || errors.Is(err, ErrNotQUIC) {
			t.Fatalf("own packet rejected: %v", err)
		}
		if err == nil && !a.Done() {
			t.Fatal("nil error but not done")
		}
	})
}

func BenchmarkParseClientInitial(b *testing.B) {
	good, err := BuildClientInitial(Version1, unhex("0001020304050607"), nil, tlshello.BuildQUICClientHello("bench.example", []string{"h3"}, nil))
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		d    []byte
	}{
		{"initial", good},
		{"short-header", append([]byte{0x40}, good[1:]...)},
		{"gquic", join([]byte{0x0d}, make([]byte, 8), []byte("Q043"), make([]byte, 1300))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.d)))
			for b.Loop() {
				_, _ = ParseClientInitial(c.d)
			}
		})
	}
	b.Run("assembler-reused", func(b *testing.B) {
		b.ReportAllocs()
		var a Assembler
		for b.Loop() {
			a.Reset()
			_ = a.Add(good)
		}
	})
}
