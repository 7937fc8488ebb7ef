package flow

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// A CONNECT on TCP 1883 marks the flow as MQTT; the same bytes on
// another port, or other bytes on 1883, do not.
func TestMQTTConnect(t *testing.T) {
	connect := []byte("\x10\x13\x00\x04MQTT\x04\x02\x00\x3c\x00\x07paho123")
	for _, tc := range []struct {
		name    string
		port    uint16
		payload []byte
		want    string
	}{
		{"connect", 1883, connect, "mqtt"},
		{"another port", 1884, connect, ""},
		{"not a connect", 1883, []byte("\x30\x0b\x00\x04abcdhello"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, out := collect(DefaultConfig())
			at := t0
			step := func() time.Time { at = at.Add(time.Millisecond); return at }
			tr.Packet(tcp("192.168.1.5", "198.51.100.9", 50000, tc.port, 100, decode.SYN, nil), 74, step())
			tr.Packet(tcp("198.51.100.9", "192.168.1.5", tc.port, 50000, 900, decode.SYN|decode.ACK, nil), 74, step())
			tr.Packet(tcp("192.168.1.5", "198.51.100.9", 50000, tc.port, 101, decode.ACK, tc.payload), 66+len(tc.payload), step())
			tr.Packet(tcp("198.51.100.9", "192.168.1.5", tc.port, 50000, 901, decode.ACK, []byte{0x20, 0x02, 0x00, 0x00}), 70, step())
			tr.Flush()
			if len(*out) != 1 {
				t.Fatalf("%d flows", len(*out))
			}
			if f := (*out)[0]; f.Signature != tc.want || f.SNI != "" || f.HTTPHost != "" {
				t.Errorf("signature %q SNI %q host %q, want %q", f.Signature, f.SNI, f.HTTPHost, tc.want)
			}
		})
	}
}
