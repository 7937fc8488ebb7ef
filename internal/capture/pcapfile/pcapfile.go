// Package pcapfile reads pcap and pcapng captures, from files or standard
// input, through gopacket's pcapgo readers in zero-copy mode, and reports
// read errors with the file, the packet number and the byte offset.
//
// It must never import the flow tracker, the catalog or any sink.
package pcapfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Reader yields the packets of one capture.
type Reader struct {
	Name     string
	Size     int64 // total bytes, or -1 for a stream
	count    *countingReader
	f        *os.File
	pcap     *pcapgo.Reader
	cl       *classic
	ng       *pcapgo.NgReader
	link     layers.LinkType
	packets  int
	links    []layers.LinkType // pcapng: link type by interface index
	Snaplen  uint32
	IsPcapNG bool
}

// Error is a read error positioned in the capture.
type Error struct {
	Name   string
	Packet int   // 1-based number of the packet that could not be read
	Offset int64 // bytes consumed when reading stopped
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: packet %d (byte offset %d): %v", e.Name, e.Packet, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a capture file; "-" is standard input.
func Open(path string) (*Reader, error) {
	if path == "-" {
		return NewReader("stdin", os.Stdin, -1)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	r, err := NewReader(path, f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.f = f
	return r, nil
}

// NewReader reads a capture from r, telling pcap from pcapng by the magic
// number.
func NewReader(name string, r io.Reader, size int64) (*Reader, error) {
	// A megabyte of read-ahead, or the whole file when it is smaller: a
	// small capture (one per process, as a sandbox hands them over)
	// should not allocate a megabyte it never fills.
	bufSize := 1 << 20
	if size >= 0 && size < int64(bufSize) {
		bufSize = max(int(size), 4096)
	}
	// The first 24 bytes tell the format. Classic pcap is then read
	// straight from r by its own reader, so the read-ahead buffer is only
	// made for the formats that need it (it was filled, and its megabyte
	// copied, for every classic capture).
	var hdr [24]byte
	n, err := io.ReadFull(r, hdr[:])
	if n < 4 {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return nil, fmt.Errorf("%s: not a capture file: %w", name, shortRead(err))
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rd := &Reader{Name: name, Size: size}
	magic := hdr[:4]
	isNG := magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a
	if !isNG && n == len(hdr) {
		if c, link, snap, ok := newClassic(r, hdr[:]); ok {
			rd.cl, rd.link, rd.Snaplen = c, link, snap
			return rd, nil
		}
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(hdr[:n]), r), bufSize)
	cr := &countingReader{r: br} // counts what the decoder consumed, not read-ahead
	rd.count = cr
	switch {
	case isNG:
		// Mixed link types: a merged pcapng has interfaces of several
		// kinds, and without this gopacket drops every packet not of the
		// first interface's kind. It costs one small allocation a packet.
		ng, err := pcapgo.NewNgReader(cr, pcapgo.NgReaderOptions{SkipUnknownVersion: true, WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: pcapng header: %w", name, err)
		}
		rd.ng, rd.IsPcapNG = ng, true
		rd.link = layers.LinkType(255) // unknown until the first packet names its interface
		return rd, nil
	case n < len(hdr):
		return nil, fmt.Errorf("%s: not a pcap or pcapng file: %w", name, io.ErrUnexpectedEOF)
	default:
		p, err := pcapgo.NewReader(cr)
		if err != nil {
			return nil, fmt.Errorf("%s: not a pcap or pcapng file (magic %x): %w", name, magic, err)
		}
		rd.pcap, rd.link, rd.Snaplen = p, p.LinkType(), p.Snaplen()
	}
	return rd, nil
}

func shortRead(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// LinkType is the capture's link-layer header type; for pcapng, that of
// the first packet's interface, known once Next has returned a packet.
func (r *Reader) LinkType() layers.LinkType { return r.link }

// PacketLinkType is the link type of a packet Next returned: pcapng files
// may mix interfaces of different kinds.
func (r *Reader) PacketLinkType(ci gopacket.CaptureInfo) layers.LinkType {
	if r.ng == nil {
		return r.link
	}
	i := ci.InterfaceIndex
	if i >= 0 && i < len(r.links) {
		return r.links[i]
	}
	for len(r.links) <= i {
		intf, err := r.ng.Interface(len(r.links))
		if err != nil {
			return layers.LinkType(255)
		}
		r.links = append(r.links, intf.LinkType)
	}
	return r.links[i]
}

// BytesRead is how far the capture has been consumed (for progress and
// error offsets).
func (r *Reader) BytesRead() int64 {
	if r.cl != nil {
		return r.cl.off
	}
	return r.count.n
}

// Packets is the number of packets read so far.
func (r *Reader) Packets() int { return r.packets }

// Next returns the next packet. The data is valid until the next call.
// At the end it returns io.EOF; a truncated or corrupt capture gives an
// *Error naming the packet and offset.
func (r *Reader) Next() ([]byte, gopacket.CaptureInfo, error) {
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
	)
	switch {
	case r.cl != nil:
		data, ci, err = r.cl.next()
	case r.ng != nil:
		data, ci, err = r.ng.ZeroCopyReadPacketData()
	default:
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
	}
	if err != nil {
		if err == io.EOF {
			return nil, ci, io.EOF
		}
		return nil, ci, &Error{Name: r.Name, Packet: r.packets + 1, Offset: r.BytesRead(), Err: shortRead(err)}
	}
	r.packets++
	if r.ng != nil && r.packets == 1 {
		r.link = r.PacketLinkType(ci)
	}
	return data, ci, nil
}

// Close closes the file, if Open opened one.
func (r *Reader) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}
