// Package ipfixtest builds IPFIX export messages for tests and benchmarks:
// one template of the fields a router exports for every flow (addresses,
// ports, protocol, octet and packet deltas, start and end in
// milliseconds) and data sets of distinct synthetic flows. It is a test
// helper: production code must never import it.
package ipfixtest

import "encoding/binary"

// Field lengths and ids of the template (RFC 7012 information elements).
var fields = [][2]uint16{
	{8, 4},   // sourceIPv4Address
	{12, 4},  // destinationIPv4Address
	{7, 2},   // sourceTransportPort
	{11, 2},  // destinationTransportPort
	{4, 1},   // protocolIdentifier
	{1, 8},   // octetDeltaCount
	{2, 8},   // packetDeltaCount
	{152, 8}, // flowStartMilliseconds
	{153, 8}, // flowEndMilliseconds
}

const (
	// RecordLen is the length of one data record of the template.
	RecordLen = 45
	// TemplateID is the template's id.
	TemplateID = 256
	// MaxRecords is how many records fit a 1,400-byte message.
	MaxRecords = (1400 - 20) / RecordLen
)

// Message appends an IPFIX message header and the sets to b.
func Message(b []byte, unix, seq, domain uint32, sets ...[]byte) []byte {
	n := 16
	for _, s := range sets {
		n += len(s)
	}
	b = binary.BigEndian.AppendUint16(b, 10)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = binary.BigEndian.AppendUint32(b, unix)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, domain)
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

// TemplateSet is the template set.
func TemplateSet() []byte {
	b := binary.BigEndian.AppendUint16(nil, 2)
	b = binary.BigEndian.AppendUint16(b, uint16(4+4+4*len(fields)))
	b = binary.BigEndian.AppendUint16(b, TemplateID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, f[0])
		b = binary.BigEndian.AppendUint16(b, f[1])
	}
	return b
}

// DataSet appends to b a data set of n records, flows first, first+1, ...
// each taken modulo flows: see Record.
func DataSet(b []byte, first, n, flows, devices int, ms uint64) []byte {
	b = binary.BigEndian.AppendUint16(b, TemplateID)
	b = binary.BigEndian.AppendUint16(b, uint16(4+n*RecordLen))
	for i := range n {
		b = Record(b, (first+i)%flows, devices, ms)
	}
	return b
}

// Record appends flow k's record: device 10.0.0.0/8 + 1 + k mod devices, a
// peer spread over public IPv4 by a hash of k, TCP 443 (one in five UDP
// 443), 200–1,499 octets, ending at ms and starting a second before.
func Record(b []byte, k, devices int, ms uint64) []byte {
	d := uint32(k % devices)
	b = binary.BigEndian.AppendUint32(b, 10<<24|d+1)
	h := uint32(k) * 2654435761 // Knuth's multiplicative hash
	peer := h%0xdf000000 + 0x01000000
	if peer>>24 == 10 || peer>>24 == 127 || peer>>16 == 0xac10 || peer>>16 == 0xc0a8 {
		peer ^= 0x40000000 // keep it outside the private ranges
	}
	b = binary.BigEndian.AppendUint32(b, peer)
	b = binary.BigEndian.AppendUint16(b, uint16(32768+k%28000))
	proto := byte(6)
	if k%5 == 0 {
		proto = 17
	}
	b = binary.BigEndian.AppendUint16(b, 443)
	b = append(b, proto)
	b = binary.BigEndian.AppendUint64(b, uint64(200+k%1300))
	b = binary.BigEndian.AppendUint64(b, uint64(1+k%4))
	b = binary.BigEndian.AppendUint64(b, ms-1000)
	b = binary.BigEndian.AppendUint64(b, ms)
	return b
}
