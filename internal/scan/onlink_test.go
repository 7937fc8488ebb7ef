package scan

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// arp writes an ARP request from sender (a who-has for target).
func (c *capWriter) arp(sender, target netip.Addr) {
	c.t.Helper()
	c.now = c.now.Add(10 * time.Millisecond)
	eth := &layers.Ethernet{SrcMAC: devMAC, DstMAC: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: devMAC, SourceProtAddress: sender.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, a); err != nil {
		c.t.Fatal(err)
	}
	b := buf.Bytes()
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		c.t.Fatal(err)
	}
}

// A phone with a public (carrier) address, to which a server opens the
// connection: outside the private ranges, the opener would be taken as
// the device. An ARP message from the phone on the captured link makes
// it inside, and the report says how. tshark reads the same ARP sender.
func TestOnLinkAddressIsTheDevice(t *testing.T) {
	phone, server := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("203.0.113.5")
	write := func(name string, withARP bool) string {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		c := &capWriter{t: t, w: w, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
		if withARP {
			c.arp(phone, netip.MustParseAddr("198.51.100.1"))
			c.arp(netip.IPv4Unspecified(), phone) // a probe names nobody
		}
		c.tcp(server, phone, 5223, 7000, []byte("push hello"), []byte("ok"))
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	with, without := write("arp.pcap", true), write("noarp.pcap", false)

	if got := tsharkFields(t, with, "arp", "arp.src.proto_ipv4"); len(got) != 2 || got[0] != phone.String() || got[1] != "0.0.0.0" {
		t.Errorf("tshark reads the ARP senders as %q", got)
	}

	// without the ARP, the opener is the device (the case the mark fixes)
	if d, ok := scanDevices(t, without)[server.String()]; !ok || d.OnLink != "" {
		t.Errorf("without ARP: devices %v, want the server %s as the device, unmarked", scanDevices(t, without), server)
	}
	got := scanDevices(t, with)
	d, ok := got[phone.String()]
	if !ok || len(got) != 1 {
		t.Fatalf("with ARP: devices %v, want only the phone %s", got, phone)
	}
	if d.OnLink != "arp" || len(d.Flows) != 1 || d.Flows[0].Peer != server.String()+":5223" {
		t.Errorf("phone: on_link %q, flows %+v; want arp and one flow to %s:5223", d.OnLink, d.Flows, server)
	}
}
