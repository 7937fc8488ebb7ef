package flow

import (
	"net/netip"

	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/sniff/quic"
)

// Protocol numbers and name-hiding reasons are the core record's
// (internal/flowrec); these names keep the tracker's code short.
const (
	TCP = flowrec.TCP
	UDP = flowrec.UDP
)

const (
	NotHidden  = flowrec.NotHidden
	HiddenECH  = flowrec.HiddenECH
	HiddenESNI = flowrec.HiddenESNI
	HiddenDoH  = flowrec.HiddenDoH
	HiddenDoT  = flowrec.HiddenDoT
	HiddenDoQ  = flowrec.HiddenDoQ
)

// entry is a flow in the table: the record handed to the sink, and the
// parsing state dropped when the flow is done learning.
type entry struct {
	flowrec.Flow
	// sent is what Checkpoint already handed on; finish hands the rest.
	sentBytesOut, sentBytesIn, sentPktsOut, sentPktsIn uint64

	// Parsing state, dropped when the flow is done learning.
	cliSeq, srvSeq      uint32
	cliNext, srvNext    bool // whether cliSeq/srvSeq are known
	hello               []byte
	cert                []byte
	quic                *quic.Assembler
	quicTries           uint8
	helloDone, certDone bool
	httpDone            bool
	// STARTTLS: plain says the client speaks a text protocol that may
	// turn into TLS (plainSeen bytes of it so far); upgraded, that it
	// asked to, so the next client bytes are a ClientHello.
	plain, upgraded bool
	// xmppDone: the stream header was read, or the session is not XMPP.
	xmppDone bool
	// mqttMore: an MQTT CONNECT begun in one segment waits in hello for
	// the rest.
	mqttMore   bool
	plainSeen  uint16
	fin        uint8
	prev, next int32 // LRU links, oldest first
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
