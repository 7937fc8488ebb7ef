// Package signature recognises application protocols that carry no server
// name by the shape of their payload: the legacy QQ protocol (OICQ) and
// Tuya's LAN protocol, both China-linked and both silent about whose
// server they talk to. A signature is weaker evidence than any name or
// certificate and is reported as such (attribute ranks it below them);
// each one checks framing at both ends of the payload, not a port alone.
//
// It reads bytes only and must never import the flow tracker or the
// catalog.
package signature

import "encoding/binary"

// Signatures this package recognises; the catalog's "protocol" assets
// name their owners by these IDs.
const (
	OICQ    = "oicq"     // Tencent QQ's UDP protocol (port 8000)
	TuyaLAN = "tuya-lan" // Tuya devices' LAN discovery and control (UDP 6666/6667, TCP 6668)
)

// Match returns the signature a transport payload carries, or "". udp is
// the transport; ports are the flow's two ports.
func Match(udp bool, port1, port2 uint16, b []byte) string {
	switch {
	case udp && (port1 == 8000 || port2 == 8000) && oicq(b):
		return OICQ
	case tuyaPort(port1, port2, udp) && tuya(b):
		return TuyaLAN
	}
	return ""
}

// oicq: flag 0x02, version, command, sequence, the QQ number, ..., and a
// closing 0x03; commands are small numbers.
func oicq(b []byte) bool {
	if len(b) < 11 || b[0] != 0x02 || b[len(b)-1] != 0x03 {
		return false
	}
	cmd := binary.BigEndian.Uint16(b[3:])
	return cmd != 0 && cmd < 0x0100
}

func tuyaPort(p1, p2 uint16, udp bool) bool {
	if udp {
		return p1 == 6666 || p1 == 6667 || p2 == 6666 || p2 == 6667
	}
	return p1 == 6668 || p2 == 6668
}

// tuya: the 0x000055AA prefix, sequence, command, a length that matches
// what follows, and the 0x0000AA55 suffix.
func tuya(b []byte) bool {
	if len(b) < 24 || binary.BigEndian.Uint32(b) != 0x000055AA || binary.BigEndian.Uint32(b[len(b)-4:]) != 0x0000AA55 {
		return false
	}
	return int(binary.BigEndian.Uint32(b[12:])) == len(b)-16
}
