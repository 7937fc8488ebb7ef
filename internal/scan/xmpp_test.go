package scan

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
)

// protoCapture writes a capture of the given client/server exchanges:
// each a TCP connection from a device to a peer and port, the client's
// first bytes and the server's reply.
func protoCapture(t *testing.T, name string, conns []protoConn) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	c := &capWriter{t: t, w: w, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	for i, cn := range conns {
		c.tcp(netip.MustParseAddr(cn.dev), netip.MustParseAddr(cn.peer), uint16(41000+i), cn.port, cn.req, cn.resp)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// scanDevices scans a capture with every flow listed (the catalog as of
// 2026-11-01) and returns the report's devices by address.
func scanDevices(t *testing.T, path string) map[string]Device {
	t.Helper()
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.All = true
	s := New(cfg, attribute.New(ix))
	if err := s.ReadFile(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	out := map[string]Device{}
	for _, d := range s.Finish(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)).Devices {
		out[d.Address] = d
	}
	return out
}

type protoConn struct {
	dev, peer string
	port      uint16
	req, resp []byte
}

// tsharkFields runs tshark over a capture with a display filter and
// returns one line of the named fields (tab-separated) per matching frame. Missing tshark
// skips the test, or fails it under CI=true.
func tsharkFields(t *testing.T, path, filter string, fields ...string) []string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not installed; .ci/run installs it")
		}
		t.Skip("tshark not installed (apt-get install tshark)")
	}
	args := []string{"-n", "-r", path, "-Y", filter, "-T", "fields"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// An XMPP client on TCP 5222 names the service in its stream header: a
// catalogued domain there names the owner (evidence xmpp-to), at an
// address nobody catalogued; an uncatalogued domain names nobody.
// tshark reads the same capture as XMPP.
func TestXMPPStreamDomainNamesOwner(t *testing.T) {
	header := func(to string) []byte {
		return []byte("<?xml version='1.0' encoding='UTF-8'?><stream:stream xmlns=\"xm\" xmlns:stream=\"xm\" to=\"" + to +
			"\" version=\"105\" model=\"MI 8\" os=\"10\" connpt=\"WIFI\" host=\"\" locale=\"en_US\">")
	}
	reply := []byte("<stream:stream xmlns='xm' xmlns:stream='xm' from='xiaomi.com' id='a1' version='105'>")
	path := protoCapture(t, "xmpp.pcap", []protoConn{
		{"192.168.7.20", "203.0.113.80", 5222, header("xiaomi.com"), reply},
		{"192.168.7.21", "203.0.113.81", 5222, header("chat.example.net"), reply},
	})

	// tshark's XMPP dissector knows the stream element; Xiaomi's
	// attributes it leaves to its XML dissector.
	lines := tsharkFields(t, path, "xmpp.stream && tcp.dstport == 5222", "ip.src", "xml.attribute")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "192.168.7.20\t") || !strings.Contains(lines[0], `to="xiaomi.com"`) ||
		!strings.Contains(lines[1], `to="chat.example.net"`) {
		t.Errorf("tshark reads the stream headers as %q", lines)
	}

	byDev := scanDevices(t, path)
	d := byDev["192.168.7.20"]
	if len(d.Exposures) != 1 || d.Exposures[0].Entity != "xiaomi" {
		t.Fatalf("192.168.7.20 exposures %+v", d.Exposures)
	}
	ev := d.Exposures[0].Evidence
	if len(ev) == 0 || ev[0].Kind != attribute.XMPPTo || ev[0].Value != "xiaomi.com" {
		t.Errorf("evidence %+v, want xmpp-to xiaomi.com", ev)
	}
	if len(d.Flows) != 1 || d.Flows[0].Name != "xiaomi.com" {
		t.Errorf("flows %+v", d.Flows)
	}
	if d := byDev["192.168.7.21"]; len(d.Exposures) != 0 || len(d.Flows) != 1 || d.Flows[0].Name != "chat.example.net" || d.Flows[0].Entity != "" {
		t.Errorf("an uncatalogued domain: exposures %+v flows %+v", d.Exposures, d.Flows)
	}
}
