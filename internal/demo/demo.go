package demo

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// DefaultStart is the capture's first timestamp when Options.Start is zero.
var DefaultStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// Snaplen is the snapshot length written in the file header.
const Snaplen = 65535

// Options say which capture to write. The same Options always give the same
// bytes.
type Options struct {
	// Start is the timestamp of the first frame (DefaultStart when zero).
	// Timestamps are written with microsecond precision.
	Start time.Time
	// Seed drives every random choice: ports, sequence numbers, payload
	// bytes, sizes and timing.
	Seed int64
	// Scale repeats the scene's traffic that many times (values below 1
	// mean 1), each repetition later in time and with other client ports;
	// DHCP and mDNS happen in the first repetition only. Scale 1 writes
	// about 1.9 MB; Scale 210 about 400 MB, for benchmarks.
	Scale int
}

// Counts are whole Ethernet frame lengths (as tshark counts them, padding
// included) and frame counts; "out" is from the device.
type Counts struct {
	BytesOut, BytesIn     uint64
	PacketsOut, PacketsIn uint64
	// Flows counts conversations (one per TCP connection or UDP 5-tuple).
	Flows int
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.BytesOut += o.BytesOut
	c.BytesIn += o.BytesIn
	c.PacketsOut += o.PacketsOut
	c.PacketsIn += o.PacketsIn
	c.Flows += o.Flows
}

// Entity ids used as Exposures keys: the catalog's entity for each name
// under its precedence (hostname first), checked with `outflow catalog
// lookup` against the November 2026 catalog. The names in the scene that
// point to each (DeviceTruth.Evidence has them per device):
//
//	tiktok     www.tiktok.com, p16-sign-va.tiktokcdn.com (DNS CNAME chains to Akamai, TLS SNI);
//	           api16-normal-useast5.us.tiktokv.com (DNS, TLS SNI) at 71.18.8.1, an address of
//	           TikTok U.S. Data Security (AS11983): the hostname outranks the ASN, so the flow
//	           is TikTok Pte. Ltd.'s, not tiktok-usds's
//	tencent    hkminorshort.weixin.qq.com (QUIC Initial SNI only: no DNS query, non-Tencent address)
//	dji        mydjiflight.dji.com, flysafe-api.dji.com (DNS, TLS SNI); also the dji-rc's MAC
//	pdd        www.temu.com (DNS, TLS SNI), kuajing.pinduoduo.com (DNS, HTTP Host)
//	hikvision  apiieu.hik-connect.com (DNS, TLS 1.2 SNI) and the certificate's organisation
//	           "Hangzhou Hikvision Digital Technology Co., Ltd."; also the cam-lobby's MAC
const (
	EntityTikTok    = "tiktok"
	EntityTencent   = "tencent"
	EntityDJI       = "dji"
	EntityPDD       = "pdd"
	EntityHikvision = "hikvision"
)

// Truth is what the capture was built to contain, for tests.
type Truth struct {
	// First and Last are the timestamps of the first and last frame.
	First, Last time.Time
	// Packets and Bytes count every frame written (Bytes: frame lengths).
	Packets int
	Bytes   uint64
	// Devices are the LAN devices in address order.
	Devices []DeviceTruth
}

// DeviceTruth is one device's ground truth.
type DeviceTruth struct {
	Addr     netip.Addr
	MAC      net.HardwareAddr
	Hostname string // as sent in DHCP option 12 (and mDNS for some)
	// MACEntity is the entity whose OUI the MAC carries ("dji",
	// "hikvision"), empty for ordinary vendors.
	MACEntity string
	// Exposures are the flows to entities of concern, keyed by entity id
	// (the Entity constants).
	Exposures map[string]Counts
	// Evidence lists, per Exposures key, the names that point to it.
	Evidence map[string][]string
	// Hidden are flows whose server name is hidden: DNS over HTTPS and
	// Encrypted ClientHello.
	Hidden Counts
	// Other are internet flows with no entity of concern.
	Other Counts
	// Local are frames that stay on the LAN: DHCP, DNS to the resolver,
	// ARP, mDNS, SSDP. Flows are not counted here.
	Local Counts
	// Total is every frame with the device's MAC as source (out) or
	// destination (in): the sum of all the above.
	Total Counts
}

// frame is one captured frame; data belongs to the script that made it and
// is valid until the script is resumed.
type frame struct {
	ts   time.Time
	data []byte
}

// Write writes the demo capture to w as a pcap file (Ethernet, snaplen
// 65535, microsecond timestamps) and returns its ground truth. Output is
// buffered and streamed: memory use does not grow with Options.Scale.
func Write(w io.Writer, opt Options) (Truth, error) {
	if opt.Start.IsZero() {
		opt.Start = DefaultStart
	}
	opt.Start = opt.Start.Truncate(time.Microsecond)
	if opt.Scale < 1 {
		opt.Scale = 1
	}
	g, err := newGen(opt)
	if err != nil {
		return Truth{}, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return Truth{}, fmt.Errorf("demo: file header: %w", err)
	}
	var truth Truth
	t0 := opt.Start
	for rep := 0; rep < opt.Scale; rep++ {
		last, err := g.writeRep(pw, rep, t0, &truth)
		if err != nil {
			return Truth{}, err
		}
		if g.err != nil {
			return Truth{}, g.err
		}
		t0 = last.Add(3 * time.Second)
	}
	if err := bw.Flush(); err != nil {
		return Truth{}, fmt.Errorf("demo: after packet %d: %w", truth.Packets, err)
	}
	truth.Devices = g.truth()
	return truth, nil
}

// writeRep runs one repetition of every script, merging their frames by
// timestamp (ties go to the earlier script), and returns the last
// timestamp.
func (g *gen) writeRep(pw *pcapgo.Writer, rep int, t0 time.Time, truth *Truth) (time.Time, error) {
	type source struct {
		next func() (frame, bool)
		stop func()
		cur  frame
		ok   bool
	}
	scripts := g.scripts(rep, t0)
	srcs := make([]source, len(scripts))
	for i, sc := range scripts {
		next, stop := iter.Pull(sc)
		srcs[i] = source{next: next, stop: stop}
		srcs[i].cur, srcs[i].ok = next()
	}
	defer func() {
		for _, s := range srcs {
			s.stop()
		}
	}()
	last := t0
	for {
		best := -1
		for i := range srcs {
			if srcs[i].ok && (best < 0 || srcs[i].cur.ts.Before(srcs[best].cur.ts)) {
				best = i
			}
		}
		if best < 0 {
			return last, nil
		}
		f := srcs[best].cur
		ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: len(f.data)}
		if err := pw.WritePacket(ci, f.data); err != nil {
			return last, fmt.Errorf("demo: packet %d: %w", truth.Packets+1, err)
		}
		if truth.Packets == 0 {
			truth.First = f.ts
		}
		truth.Packets++
		truth.Bytes += uint64(len(f.data))
		truth.Last, last = f.ts, f.ts
		srcs[best].cur, srcs[best].ok = srcs[best].next()
	}
}

// device is one LAN device and its running tally.
type device struct {
	name      string
	mac       mac
	ip        netip.Addr
	ttl       byte
	macEntity string
	ipid      uint16
	ports     int // client ports used in the current repetition

	exposures map[string]*Counts
	evidence  map[string][]string
	hidden    Counts
	other     Counts
	local     Counts
	total     Counts
}

// script is one device's (or the network's) traffic for one repetition.
type script struct {
	g     *gen
	dev   *device // nil for frames that belong to no device
	rep   int
	rng   *rand.Rand
	bytes *rand.ChaCha8
	now   time.Time
	buf   []byte
	data  []byte // application stream scratch
	yield func(frame) bool
	done  bool // the consumer stopped
}

// newScript seeds a script from the options, the repetition and its index,
// so each script's randomness is independent of how the merge interleaves
// them.
func (g *gen) newScript(dev *device, rep, idx int, t0 time.Time) *script {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], uint64(g.opt.Seed))
	binary.LittleEndian.PutUint64(seed[8:], uint64(rep))
	binary.LittleEndian.PutUint64(seed[16:], uint64(idx))
	copy(seed[24:], "outflow!")
	src := rand.NewChaCha8(seed)
	s := &script{g: g, dev: dev, rep: rep, rng: rand.New(src), bytes: src, now: t0}
	if dev != nil {
		dev.ports = 0
	}
	return s
}

// run turns a script body into an iterator of frames.
func (s *script) run(body func(*script)) iter.Seq[frame] {
	return func(yield func(frame) bool) {
		s.yield = yield
		body(s)
	}
}

// wait advances the script's clock by d, rounded to microseconds.
func (s *script) wait(d time.Duration) {
	s.now = s.now.Add(d.Truncate(time.Microsecond))
}

// waitUS advances the clock by lo to hi microseconds.
func (s *script) waitUS(lo, hi int) {
	s.wait(time.Duration(lo+s.rng.IntN(hi-lo+1)) * time.Microsecond)
}

// emit pads and hands over the frame in s.buf, counting it for the
// script's device (by MAC) under acct (Local when nil).
func (s *script) emit(acct *Counts) {
	s.buf = pad(s.buf)
	if d := s.dev; d != nil {
		var dst, src mac
		copy(dst[:], s.buf[0:6])
		copy(src[:], s.buf[6:12])
		if acct == nil {
			acct = &d.local
		}
		n := uint64(len(s.buf))
		switch {
		case src == d.mac:
			d.total.BytesOut += n
			d.total.PacketsOut++
			acct.BytesOut += n
			acct.PacketsOut++
		case dst == d.mac:
			d.total.BytesIn += n
			d.total.PacketsIn++
			acct.BytesIn += n
			acct.PacketsIn++
		}
	}
	if s.done {
		return
	}
	if !s.yield(frame{ts: s.now, data: s.buf}) {
		s.done = true
	}
}

// randBytes returns n random bytes in a scratch buffer valid until the
// next call.
func (s *script) randBytes(n int) []byte {
	s.data = slices.Grow(s.data[:0], n)[:n]
	_, _ = s.bytes.Read(s.data)
	return s.data
}

// port returns the next client port of the script's device; repetitions
// shift the range so flows of different repetitions do not share a 5-tuple
// until the 16384-port range wraps.
func (s *script) port() uint16 {
	p := 49152 + (s.rep*64+s.dev.ports)%16384
	s.dev.ports++
	return uint16(p)
}

// expose returns the tally for entity, noting name as evidence, and counts
// a new flow.
func (s *script) expose(entity, name string) *Counts {
	d := s.dev
	c := d.exposures[entity]
	if c == nil {
		c = new(Counts)
		d.exposures[entity] = c
	}
	if !slices.Contains(d.evidence[entity], name) {
		d.evidence[entity] = append(d.evidence[entity], name)
	}
	c.Flows++
	d.total.Flows++
	return c
}

// otherFlow and hiddenFlow count a new flow of those kinds.
func (s *script) otherFlow() *Counts {
	s.dev.other.Flows++
	s.dev.total.Flows++
	return &s.dev.other
}

func (s *script) hiddenFlow() *Counts {
	s.dev.hidden.Flows++
	s.dev.total.Flows++
	return &s.dev.hidden
}

// truth snapshots the devices' tallies.
func (g *gen) truth() []DeviceTruth {
	out := make([]DeviceTruth, 0, len(g.devs))
	for _, d := range g.devs {
		dt := DeviceTruth{
			Addr:      d.ip,
			MAC:       net.HardwareAddr(slices.Clone(d.mac[:])),
			Hostname:  d.name,
			MACEntity: d.macEntity,
			Exposures: make(map[string]Counts, len(d.exposures)),
			Evidence:  make(map[string][]string, len(d.evidence)),
			Hidden:    d.hidden,
			Other:     d.other,
			Local:     d.local,
			Total:     d.total,
		}
		for k, c := range d.exposures {
			dt.Exposures[k] = *c
		}
		for k, v := range d.evidence {
			dt.Evidence[k] = slices.Clone(v)
		}
		out = append(out, dt)
	}
	slices.SortFunc(out, func(a, b DeviceTruth) int { return a.Addr.Compare(b.Addr) })
	return out
}
