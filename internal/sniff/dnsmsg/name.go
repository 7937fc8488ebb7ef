package dnsmsg

// MaxNameText is the longest presentation form of a wire name of 255
// octets in which every byte needs a \DDD escape.
const MaxNameText = 4 * 255

// maxPointers bounds compression pointers followed in one name: a name
// has at most 127 labels, so more jumps than that can only be a loop.
const maxPointers = 127

// Name is a domain name in presentation form, held by value so that a
// parse allocates nothing: ASCII letters lowercased (resolvers randomise
// case, RFC 5452 section 9.1), no trailing dot, "." for the root, and
// bytes other than visible ASCII, dots and backslashes inside labels
// escaped as \DDD, \. and \\ (RFC 1035 section 5.1).
type Name struct {
	buf [MaxNameText]byte
	n   uint16
}

// String returns the name; it allocates.
func (n *Name) String() string { return string(n.buf[:n.n]) }

// Bytes returns the name without copying; the slice is valid until the
// Name is next written.
func (n *Name) Bytes() []byte { return n.buf[:n.n] }

// Len is the length of the presentation form.
func (n *Name) Len() int { return int(n.n) }

// Equal reports whether the name is s (which must be in the same
// canonical form), without allocating.
func (n *Name) Equal(s string) bool { return string(n.buf[:n.n]) == s }

func (n *Name) reset() { n.n = 0 }

func (n *Name) appendByte(c byte) {
	n.buf[n.n] = c
	n.n++
}

func (n *Name) appendLabel(label []byte) {
	if n.n > 0 {
		n.appendByte('.')
	}
	for _, c := range label {
		switch {
		case c >= 'A' && c <= 'Z':
			n.appendByte(c + 'a' - 'A')
		case c == '.' || c == '\\':
			n.appendByte('\\')
			n.appendByte(c)
		case c <= ' ' || c >= 0x7f:
			n.appendByte('\\')
			n.appendByte('0' + c/100)
			n.appendByte('0' + c/10%10)
			n.appendByte('0' + c%10)
		default:
			n.appendByte(c)
		}
	}
}

// readName decodes the possibly compressed name at msg[off:] into dst and
// returns the offset just past it in the original position.
func readName(msg []byte, off int, dst *Name) (next int, err error) {
	dst.reset()
	p := off
	next = -1
	wire := 0 // octets of the uncompressed wire form, including the root
	jumps := 0
	for {
		if p >= len(msg) {
			return 0, malformed("name runs past the message", p)
		}
		c := int(msg[p])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = p + 1
				}
				if dst.n == 0 {
					dst.appendByte('.')
				}
				return next, nil
			}
			if p+1+c > len(msg) {
				return 0, malformed("label runs past the message", p)
			}
			wire += 1 + c
			if wire+1 > 255 {
				return 0, malformed("name longer than 255 octets", off)
			}
			dst.appendLabel(msg[p+1 : p+1+c])
			p += 1 + c
		case 0xc0:
			if p+1 >= len(msg) {
				return 0, malformed("truncated compression pointer", p)
			}
			if jumps++; jumps > maxPointers {
				return 0, malformed("compression pointer loop", off)
			}
			if next < 0 {
				next = p + 2
			}
			p = (c&0x3f)<<8 | int(msg[p+1])
		default:
			return 0, malformed("extended label type", p)
		}
	}
}
