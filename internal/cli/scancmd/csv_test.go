package scancmd

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const hyperlink = `=HYPERLINK("http://x","y")`

// renameDHCPHost rewrites the demo capture so that every DHCP message
// whose host name (option 12) is from says to instead, re-encoding the
// frame with fixed lengths and checksums, as an attacker on the LAN would
// send it.
func renameDHCPHost(t *testing.T, in, from, to string) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	renamed := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if d, ok := p.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok {
			for i, o := range d.Options {
				if o.Type == layers.DHCPOptHostname && string(o.Data) == from {
					d.Options[i] = layers.NewDHCPOption(layers.DHCPOptHostname, []byte(to))
					renamed++
				}
			}
			eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, d); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
			ci.CaptureLength, ci.Length = len(data), len(data)
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if renamed == 0 {
		t.Fatalf("no DHCP message names %q", from)
	}
	p := filepath.Join(t.TempDir(), "renamed.pcap")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCSVFormulaHostname scans a capture in which a device calls itself
// =HYPERLINK(...) over DHCP: the CSV cell must read back as text (a
// leading quote), not as a formula a spreadsheet would run.
func TestCSVFormulaHostname(t *testing.T) {
	capPath := renameDHCPHost(t, demoCapture(t), "ana-laptop", hyperlink)
	out := filepath.Join(t.TempDir(), "scan.csv")
	if code, _, errs := runScan(t, "--csv", "-o", out, capPath); code != 3 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "hostname" {
			col = i
		}
	}
	found := 0
	for _, r := range rows[1:] {
		if strings.Contains(r[col], "HYPERLINK") {
			found++
			if r[col] != "'"+hyperlink {
				t.Errorf("hostname cell %q, want %q", r[col], "'"+hyperlink)
			}
		}
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+@", rune(c[0])) {
				t.Errorf("column %s starts a formula: %q", rows[0][i], c)
			}
		}
	}
	if found == 0 {
		t.Fatalf("no row carries the DHCP host name:\n%s", b)
	}
}
