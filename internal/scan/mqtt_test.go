package scan

import (
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/sniff/tlshello"
)

// MQTT on TCP 1883 names no server: the flow shows the protocol and is
// attributed to nobody by it. MQTT over TLS on 8883 is named by its SNI,
// as any TLS: Tuya's broker by its domain. tshark reads the capture as
// MQTT and TLS alike.
func TestMQTT(t *testing.T) {
	connect := []byte("\x10\x1b\x00\x04MQTT\x04\x02\x00\x3c\x00\x0fplug-5c:cf:7f:1")
	connack := []byte{0x20, 0x02, 0x00, 0x00}
	path := protoCapture(t, "mqtt.pcap", []protoConn{
		{"192.168.7.30", "203.0.113.90", 1883, connect, connack},
		{"192.168.7.31", "203.0.113.91", 8883, tlshello.BuildClientHello("m1.tuyaus.com", []string{"mqtt"}), connack},
	})

	lines := tsharkFields(t, path, "mqtt.msgtype == 1", "ip.src", "mqtt.ver", "mqtt.clientid")
	if len(lines) != 1 || lines[0] != "192.168.7.30\t4\tplug-5c:cf:7f:1" {
		t.Errorf("tshark reads the CONNECT as %q", lines)
	}
	lines = tsharkFields(t, path, "tls.handshake.type == 1 && tcp.dstport == 8883", "ip.src", "tls.handshake.extensions_server_name")
	if len(lines) != 1 || lines[0] != "192.168.7.31\tm1.tuyaus.com" {
		t.Errorf("tshark reads the ClientHello on 8883 as %q", lines)
	}

	byDev := scanDevices(t, path)
	if d := byDev["192.168.7.30"]; len(d.Exposures) != 0 || len(d.Flows) != 1 || d.Flows[0].Protocol != "mqtt" || d.Flows[0].Entity != "" {
		t.Errorf("MQTT on 1883: exposures %+v flows %+v", d.Exposures, d.Flows)
	}
	d := byDev["192.168.7.31"]
	if len(d.Exposures) != 1 || d.Exposures[0].Entity != "tuya" {
		t.Fatalf("MQTT over TLS: exposures %+v", d.Exposures)
	}
	if ev := d.Exposures[0].Evidence; len(ev) == 0 || ev[0].Kind != attribute.TLSSNI || !strings.HasSuffix(ev[0].Value, "tuyaus.com") {
		t.Errorf("MQTT over TLS: evidence %+v", ev)
	}
}
