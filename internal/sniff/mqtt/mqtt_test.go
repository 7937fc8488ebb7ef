package mqtt

import (
	"bytes"
	"errors"
	"testing"
)

// connect builds a CONNECT: protocol name, level, flags, MQTT 5
// properties (nil: none, as before 5), client id and what follows it.
func connect(name string, level, flags byte, props []byte, id string, rest []byte) []byte {
	var v []byte
	v = append(v, 0, byte(len(name)))
	v = append(v, name...)
	v = append(v, level, flags, 0, 60)
	if level == 5 {
		v = append(v, byte(len(props)))
		v = append(v, props...)
	}
	v = append(v, byte(len(id)>>8), byte(len(id)))
	v = append(v, id...)
	v = append(v, rest...)
	out := []byte{0x10}
	n := len(v)
	for {
		x := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			x |= 0x80
		}
		out = append(out, x)
		if n == 0 {
			break
		}
	}
	return append(out, v...)
}

var (
	// mosquitto_pub -V 311 -i paho123, byte for byte
	v311 = []byte("\x10\x13\x00\x04MQTT\x04\x02\x00\x3c\x00\x07paho123")
	// an MQTT 3.1 client (MQIsdp)
	v31 = []byte("\x10\x15\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x07paho123")
	// MQTT 5 with a session expiry interval property
	v5 = []byte("\x10\x19\x00\x04MQTT\x05\x02\x00\x3c\x05\x11\x00\x00\x0e\x10\x00\x07paho123")
)

func TestParseConnect(t *testing.T) {
	long := bytes.Repeat([]byte("p"), 300) // a remaining length of two bytes
	for _, tc := range []struct {
		name  string
		in    []byte
		level uint8
		id    string
		err   error
	}{
		{"3.1.1", v311, 4, "paho123", nil},
		{"3.1", v31, 3, "paho123", nil},
		{"5 with properties", v5, 5, "paho123", nil},
		{"empty client id", connect("MQTT", 4, 0x02, nil, "", nil), 4, "", nil},
		{"user, password, will and a long payload", connect("MQTT", 4, 0xee, nil, "d:abc", long), 4, "d:abc", nil},
		{"5: password without user name is allowed", connect("MQTT", 5, 0x42, nil, "x", nil), 5, "x", nil},
		{"followed by another packet", append(append([]byte{}, v311...), 0xc0, 0x00), 4, "paho123", nil},

		{"MQTT at level 3", connect("MQTT", 3, 0x02, nil, "x", nil), 0, "", ErrNotMQTT},
		{"MQIsdp at level 4", connect("MQIsdp", 4, 0x02, nil, "x", nil), 0, "", ErrNotMQTT},
		{"level 6", connect("MQTT", 6, 0x02, nil, "x", nil), 0, "", ErrNotMQTT},
		{"reserved flag", connect("MQTT", 4, 0x03, nil, "x", nil), 0, "", ErrNotMQTT},
		{"will QoS 3", connect("MQTT", 4, 0x1e, nil, "x", nil), 0, "", ErrNotMQTT},
		{"will QoS without a will", connect("MQTT", 4, 0x0a, nil, "x", nil), 0, "", ErrNotMQTT},
		{"3.1.1: password without user name", connect("MQTT", 4, 0x42, nil, "x", nil), 0, "", ErrNotMQTT},
		{"client id with NUL", connect("MQTT", 4, 0x02, nil, "a\x00b", nil), 0, "", ErrNotMQTT},
		{"client id not UTF-8", connect("MQTT", 4, 0x02, nil, "a\xffb", nil), 0, "", ErrNotMQTT},
		{"CONNACK", []byte{0x20, 0x02, 0x00, 0x00}, 0, "", ErrNotMQTT},
		{"flags in the fixed header", append([]byte{0x12}, v311[1:]...), 0, "", ErrNotMQTT},
		{"remaining length too short for the id", append([]byte{0x10, 0x0c}, v311[2:]...), 0, "", ErrNotMQTT},
		{"remaining length not minimal", append([]byte{0x10, 0x93, 0x00}, v311[2:]...), 0, "", ErrNotMQTT},
		{"remaining length of five bytes", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, "", ErrNotMQTT},
		{"properties past the packet", []byte("\x10\x0c\x00\x04MQTT\x05\x02\x00\x3c\x7f\x00"), 0, "", ErrNotMQTT},
		{"TLS", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 0, "", ErrNotMQTT},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), 0, "", ErrNotMQTT},

		{"empty", nil, 0, "", ErrNeedMore},
		{"length cut", []byte{0x10, 0x93}, 0, "", ErrNeedMore},
		{"id cut", v311[:len(v311)-2], 0, "", ErrNeedMore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConnect(tc.in)
			if !errors.Is(err, tc.err) || c.Level != tc.level && err == nil || string(c.ClientID) != tc.id {
				t.Errorf("ParseConnect(%q) = level %d id %q, %v; want %d %q, %v", tc.in, c.Level, c.ClientID, err, tc.level, tc.id, tc.err)
			}
		})
	}
}

// A CONNECT cut anywhere before the client identifier's end asks for more.
func TestParseConnectEveryCut(t *testing.T) {
	for _, p := range [][]byte{v311, v31, v5} {
		for i := range p {
			if _, err := ParseConnect(p[:i]); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("cut at %d of %q: %v", i, p, err)
			}
		}
	}
}

func TestParseConnectAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseConnect(v5) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func BenchmarkParseConnect(b *testing.B) {
	b.SetBytes(int64(len(v311)))
	for b.Loop() {
		if _, err := ParseConnect(v311); err != nil {
			b.Fatal(err)
		}
	}
}

// Rejecting input is fine, panicking is not; a CONNECT accepted has a
// known level and a client id inside the input, and more is never asked
// for past MaxConnect.
func FuzzParseConnect(f *testing.F) {
	for _, s := range [][]byte{v311, v31, v5, connect("MQTT", 4, 0xee, nil, "d:abc", bytes.Repeat([]byte("p"), 300))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConnect(b)
		if errors.Is(err, ErrNeedMore) && len(b) >= MaxConnect {
			t.Fatalf("ErrNeedMore at %d bytes", len(b))
		}
		if err != nil {
			return
		}
		if c.Level < 3 || c.Level > 5 || !bytes.Contains(b, c.ClientID) || b[0] != 0x10 {
			t.Fatalf("accepted %+v", c)
		}
	})
}
