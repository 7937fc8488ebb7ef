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

// A CONNECT cut across segments (here an MQTT 5 one with a long client
// identifier, in two and in three pieces) is read whole; one whose rest
// never comes, or comes after a gap, marks nothing.
func TestMQTTConnectAcrossSegments(t *testing.T) {
	id := "d:tenant-7:thermostat:8c1f640a77b2-living-room-east-wall"
	body := append([]byte("\x00\x04MQTT\x05\x02\x00\x3c\x00"), byte(len(id)>>8), byte(len(id)))
	body = append(body, id...)
	connect := append([]byte{0x10, byte(len(body))}, body...)
	for _, tc := range []struct {
		name   string
		pieces [][]byte
		gap    bool
		want   string
	}{
		{"two", [][]byte{connect[:9], connect[9:]}, false, "mqtt"},
		{"three", [][]byte{connect[:1], connect[1:20], connect[20:]}, false, "mqtt"},
		{"never finished", [][]byte{connect[:20]}, false, ""},
		{"after a gap", [][]byte{connect[:9], connect[12:]}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, out := collect(DefaultConfig())
			at := t0
			step := func() time.Time { at = at.Add(time.Millisecond); return at }
			tr.Packet(tcp("192.168.1.5", "198.51.100.9", 50000, 1883, 100, decode.SYN, nil), 74, step())
			tr.Packet(tcp("198.51.100.9", "192.168.1.5", 1883, 50000, 900, decode.SYN|decode.ACK, nil), 74, step())
			seq := uint32(101)
			for i, pc := range tc.pieces {
				if tc.gap && i == 1 {
					seq += 3
				}
				tr.Packet(tcp("192.168.1.5", "198.51.100.9", 50000, 1883, seq, decode.ACK, pc), 66+len(pc), step())
				seq += uint32(len(pc))
			}
			tr.Flush()
			if len(*out) != 1 {
				t.Fatalf("%d flows", len(*out))
			}
			if f := (*out)[0]; f.Signature != tc.want {
				t.Errorf("signature %q, want %q", f.Signature, tc.want)
			}
			if want := map[bool]uint64{true: 1, false: 0}[tc.want != ""]; tr.Stats.MQTTConnects != want {
				t.Errorf("MQTTConnects %d, want %d", tr.Stats.MQTTConnects, want)
			}
		})
	}
}
