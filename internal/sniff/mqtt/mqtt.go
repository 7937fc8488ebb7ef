// Package mqtt recognises an MQTT CONNECT packet (MQTT 3.1, 3.1.1 and 5),
// the first bytes an IoT device sends its broker on TCP 1883. MQTT names
// no server, and no platform documents a client identifier prefix that
// would say whose broker it is, so the tracker records the protocol
// ("mqtt") as what the flow is and attributes nothing by it; MQTT over
// TLS (8883) is named by its SNI as any TLS.
//
// ParseConnect reads at most MaxConnect bytes, checks every field it
// passes against the specification (fixed header flags, the minimal
// length encoding, the protocol name and level that go together, the
// reserved and will flags) and allocates nothing: the client identifier
// it returns is a sub-slice of the input.
//
// It reads bytes only and must never import the flow tracker or the
// catalog.
package mqtt

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// Port is MQTT's cleartext port; Protocol is the name a flow records.
const (
	Port     = 1883
	Protocol = "mqtt"
)

// MaxConnect bounds what is read of a CONNECT: the fixed and variable
// headers, MQTT 5 properties and the client identifier.
const MaxConnect = 4096

// Errors ParseConnect returns.
var (
	ErrNeedMore = errors.New("mqtt: CONNECT incomplete")
	ErrNotMQTT  = errors.New("mqtt: not an MQTT CONNECT packet")
)

// Connect is what a CONNECT tells of the client.
type Connect struct {
	Level    uint8  // 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1) or 5
	ClientID []byte // a sub-slice of the input; may be empty
	// KeepAlive is the longest silence the client promises, in seconds.
	KeepAlive uint16
}

// ParseConnect reads a CONNECT packet at the start of b, up to and
// including the client identifier; what follows (will, user name,
// password) is left unread.
func ParseConnect(b []byte) (Connect, error) {
	var c Connect
	if len(b) > MaxConnect {
		b = b[:MaxConnect]
	}
	if len(b) == 0 {
		return c, ErrNeedMore
	}
	if b[0] != 0x10 { // type 1, flags 0000
		return c, ErrNotMQTT
	}
	rem, n, err := varint(b[1:])
	if err != nil {
		return c, err
	}
	i := 1 + n
	end := i + rem // the packet's end; fields must stay inside it
	// variable header: protocol name, level, flags, keep alive
	name, i, err := str(b, i, end)
	if err != nil {
		return c, err
	}
	if i+4 > len(b) {
		return c, more(b, end, i+4)
	}
	c.Level = b[i]
	switch {
	case string(name) == "MQIsdp" && c.Level == 3:
	case string(name) == "MQTT" && (c.Level == 4 || c.Level == 5):
	default:
		return c, ErrNotMQTT
	}
	flags := b[i+1]
	if !validFlags(flags, c.Level) {
		return c, ErrNotMQTT
	}
	c.KeepAlive = binary.BigEndian.Uint16(b[i+2:])
	i += 4
	if c.Level == 5 { // properties, skipped
		if i >= len(b) {
			return c, more(b, end, i+1)
		}
		plen, n, err := varint(b[i:])
		if errors.Is(err, ErrNeedMore) {
			return c, more(b, end, len(b)+1)
		}
		if err != nil {
			return c, err
		}
		i += n + plen
		if i > end {
			return c, ErrNotMQTT
		}
	}
	id, _, err := str(b, i, end)
	if err != nil {
		return c, err
	}
	if !utf8.Valid(id) {
		return c, ErrNotMQTT
	}
	for _, x := range id {
		if x == 0 { // U+0000 is not allowed in an MQTT string
			return c, ErrNotMQTT
		}
	}
	c.ClientID = id
	return c, nil
}

// validFlags checks the CONNECT flags: the reserved bit clear, will QoS
// 0 to 2 and will QoS and retain clear without a will, and (before MQTT
// 5) no password without a user name.
func validFlags(f, level byte) bool {
	const reserved, will, qos, retain, password, user = 0x01, 0x04, 0x18, 0x20, 0x40, 0x80
	switch {
	case f&reserved != 0, f&qos == qos:
		return false
	case f&will == 0 && f&(qos|retain) != 0:
		return false
	case level < 5 && f&password != 0 && f&user == 0:
		return false
	}
	return true
}

// varint reads MQTT's variable byte integer (1 to 4 bytes, minimal).
func varint(b []byte) (v, n int, err error) {
	for shift := 0; n < 4; shift += 7 {
		if n == len(b) {
			return 0, 0, ErrNeedMore
		}
		x := b[n]
		n++
		v |= int(x&0x7f) << shift
		if x&0x80 == 0 {
			if x == 0 && n > 1 { // a longer encoding than needed
				return 0, 0, ErrNotMQTT
			}
			return v, n, nil
		}
	}
	return 0, 0, ErrNotMQTT
}

// str reads a length-prefixed string at i that must end by end.
func str(b []byte, i, end int) ([]byte, int, error) {
	if i+2 > end {
		return nil, 0, ErrNotMQTT
	}
	if i+2 > len(b) {
		return nil, 0, more(b, end, i+2)
	}
	n := int(binary.BigEndian.Uint16(b[i:]))
	j := i + 2 + n
	if j > end {
		return nil, 0, ErrNotMQTT
	}
	if j > len(b) {
		return nil, 0, more(b, end, j)
	}
	return b[i+2 : j], j, nil
}

// more says whether reading on to need is worth it: not when the packet
// (which ends at end) is already known not to hold it, nor beyond
// MaxConnect.
func more(b []byte, end, need int) error {
	if need > end || need > MaxConnect || len(b) == MaxConnect {
		return ErrNotMQTT
	}
	return ErrNeedMore
}
