package dnsmsg

import "fmt"

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// SplitTCP takes the first message off a DNS-over-TCP stream (RFC 1035
// section 4.2.2: a two-byte length before each message). It returns
// ErrNeedMore while the stream ends inside the message.
func SplitTCP(stream []byte) (msg, rest []byte, err error) {
	if len(stream) < 2 {
		return nil, stream, ErrNeedMore
	}
	n := int(stream[0])<<8 | int(stream[1])
	if n < 12 {
		return nil, stream, malformed(fmt.Sprintf("TCP length %d shorter than a header", n), 0)
	}
	if len(stream) < 2+n {
		return nil, stream, ErrNeedMore
	}
	return stream[2 : 2+n], stream[2+n:], nil
}
