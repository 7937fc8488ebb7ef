package flow

import (
	"net/netip"

	"github.com/outflow-dev/outflow/internal/sniff/quic"
)

// Proto numbers used here.
const (
	TCP = 6
	UDP = 17
)

// Hidden says why a flow's name could not be learned.
type Hidden uint8

// Reasons a name is hidden.
const (
	NotHidden  Hidden = iota
	HiddenECH         // TLS Encrypted ClientHello: the SNI is the outer name only
	HiddenESNI        // the draft encrypted SNI
	HiddenDoH         // DNS over HTTPS: the queries inside are not visible
	HiddenDoT         // DNS over TLS
	HiddenDoQ         // DNS over QUIC
)

func (h Hidden) String() string {
	return [...]string{"", "tls-ech", "tls-esni", "dns-over-https", "dns-over-tls", "dns-over-quic"}[h]
}

// Flow is one conversation between a device and a peer. The device is the
// inside address (see Config.Local); when both or neither side are inside,
// the initiator is the device.
type Flow struct {
	Device, Peer         netip.Addr
	DevicePort, PeerPort uint16
	Proto                uint8
	DeviceMAC            [6]byte
	HasMAC               bool

	BytesOut, BytesIn     uint64 // frame bytes from and to the device
	PacketsOut, PacketsIn uint64
	First, Last           int64 // unix nanoseconds

	SNI      string // TLS SNI
	QUICSNI  string
	HTTPHost string
	DNSName  string // the name the device resolved to the peer address, if any
	DNSQuery string // the name it asked for, when a CNAME chain led elsewhere
	PeerName string // a name another flow to the same address showed, when this one showed none
	CertOrg  string
	CertCN   string
	ALPN     string
	Hidden   Hidden

	// Parsing state, dropped when the flow is done learning.
	cliSeq, srvSeq      uint32
	cliNext, srvNext    bool // whether cliSeq/srvSeq are known
	hello               []byte
	cert                []byte
	quic                *quic.Assembler
	quicTries           uint8
	helloDone, certDone bool
	httpDone            bool
	fin                 uint8
	prev, next          int32 // LRU links, oldest first
}

// Key identifies a flow regardless of direction.
type Key struct {
	A, B  netip.AddrPort // A < B
	Proto uint8
}

func makeKey(src, dst netip.AddrPort, proto uint8) (Key, bool) {
	if src.Compare(dst) <= 0 {
		return Key{src, dst, proto}, true
	}
	return Key{dst, src, proto}, false
}
