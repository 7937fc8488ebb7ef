package signature

import (
	"encoding/binary"
	"testing"
)

func oicqPacket(cmd uint16) []byte {
	b := []byte{0x02, 0x3b, 0x0b}
	b = binary.BigEndian.AppendUint16(b, cmd)
	b = binary.BigEndian.AppendUint16(b, 23)         // sequence
	b = binary.BigEndian.AppendUint32(b, 1444875387) // QQ number
	b = append(b, make([]byte, 16)...)               // encrypted body
	return append(b, 0x03)
}

func tuyaPacket(body int) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x000055AA)
	b = binary.BigEndian.AppendUint32(b, 0)    // sequence
	b = binary.BigEndian.AppendUint32(b, 0x13) // command
	b = binary.BigEndian.AppendUint32(b, uint32(body+8))
	b = append(b, make([]byte, body)...)
	b = binary.BigEndian.AppendUint32(b, 0x12345678) // CRC
	return binary.BigEndian.AppendUint32(b, 0x0000AA55)
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		udp    bool
		p1, p2 uint16
		b      []byte
		want   string
	}{
		{"oicq logout", true, 60213, 8000, oicqPacket(1), OICQ},
		{"oicq reply", true, 8000, 60213, oicqPacket(0x22), OICQ},
		{"oicq shape on another port", true, 60213, 9000, oicqPacket(1), ""},
		{"not closed by 0x03", true, 60213, 8000, append(oicqPacket(1)[:20], 0x04), ""},
		{"absurd command", true, 60213, 8000, oicqPacket(0x4141), ""},
		{"tuya broadcast", true, 49154, 6667, tuyaPacket(140), TuyaLAN},
		{"tuya tcp control", false, 50000, 6668, tuyaPacket(40), TuyaLAN},
		{"tuya length lies", true, 49154, 6667, append(tuyaPacket(140)[:100], tuyaPacket(140)[len(tuyaPacket(140))-8:]...), ""},
		{"tuya shape on another port", true, 49154, 7000, tuyaPacket(140), ""},
		{"dns on 8000", true, 53000, 8000, []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, ""},
		{"empty", true, 1, 8000, nil, ""},
	} {
		if got := Match(tc.udp, tc.p1, tc.p2, tc.b); got != tc.want {
			t.Errorf("%s: Match = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add(true, uint16(8000), oicqPacket(1))
	f.Add(true, uint16(6667), tuyaPacket(20))
	f.Add(false, uint16(6668), []byte{0, 0, 0x55, 0xaa})
	f.Fuzz(func(t *testing.T, udp bool, port uint16, b []byte) {
		_ = Match(udp, 40000, port, b)
	})
}
