package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/resolver/cache"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// meta is what the resolver keeps with a cached answer: the parts of the
// answer the policy must see (CNAME and SVCB/HTTPS targets, addresses),
// and, per policy generation, those of them that some rule could match.
type meta struct {
	rcode uint16
	parts []part
	cur   atomic.Pointer[checked]
	// verdicts remember the policy's last verdicts on this answer (see
	// verdict), a few client groups at a time, replaced in turn.
	verdicts [verdictSlots]atomic.Pointer[verdict]
	next     atomic.Uint32
}

const verdictSlots = 4

// verdict is everything the policy decided about a cached answer for a
// client's groups: the question name's verdict and its answer checks',
// as answerFrom combines them, with what the query log and the metrics
// take from them. It holds for one state (policy and catalog) and the
// interval of time around the query in which no rule starts to warn or
// block (state.window): the question name and the answer's parts are the
// entry's, so for any query in that state, of a client in those groups,
// at a time in that interval, the policy would decide the same again.
// A cache hit that finds one answers without asking the catalog or the
// policy anything. Immutable once made.
type verdict struct {
	gen         uint64
	groups      policy.Membership
	from, until int64 // unix nanoseconds: [from, until)

	v      policy.Decision
	ent    *catalog.Entity
	reason string
	group  string             // the query log's group name of groups
	count  prometheus.Counter // the verdicts series, nil for allow
}

// verdictFor returns the remembered verdict for a query at t (unix
// nanoseconds) in state gen by a client in groups, or nil.
func (m *meta) verdictFor(gen uint64, groups policy.Membership, t int64) *verdict {
	for i := range m.verdicts {
		if v := m.verdicts[i].Load(); v != nil && v.gen == gen && v.groups == groups && v.from <= t && t < v.until {
			return v
		}
	}
	return nil
}

// remember keeps v in place of the oldest verdict.
func (m *meta) remember(v *verdict) {
	m.verdicts[m.next.Add(1)%verdictSlots].Store(v)
}

type part struct {
	reason string // cname, target, address
	name   []byte // normalised name; nil for an address
	addr   netip.Addr
}

type checked struct {
	gen   uint64
	items []item
}

type item struct {
	part *part
	a    attribute.Attribution
}

// client is who sent a query and how.
type client struct {
	addr    netip.Addr
	proto   string // udp, tcp, dot, doh
	dohPath string
	name    string // TLS server name
	udp     bool
}

// exchange is one query in progress. It is pooled: nothing in it may be
// kept after putExchange.
type exchange struct {
	cl     client
	q      wire.Query
	req    []byte
	reqBuf []byte
	start  time.Time
	st     *state
	groups policy.Membership

	nameBuf [wire.MaxName + 1]byte
	name    []byte
	nameOK  bool
	keyBuf  [wire.MaxName + 8]byte
	key     []byte

	v      policy.Decision
	ent    *catalog.Entity
	reason string

	e      *cache.Entry[*meta]
	cs     cache.State
	cached bool
	stale  bool
	vd     *verdict // the remembered verdict the answer came from, if any
	entry  querylog.Entry
}

func (s *Server) getExchange() *exchange { return s.xpool.Get().(*exchange) }

func (s *Server) putExchange(x *exchange) {
	buf := x.reqBuf
	*x = exchange{}
	if cap(buf) <= 4096 {
		x.reqBuf = buf[:0]
	}
	s.xpool.Put(x)
}

// own copies the request into the exchange, so that it outlives the
// reader's buffer.
func (x *exchange) own() {
	x.reqBuf = append(x.reqBuf[:0], x.req...)
	x.req = x.reqBuf
	_ = wire.ParseQuery(x.req, &x.q) // parsed before: re-point the slices
}

// begin answers what can be answered without an upstream: malformed
// queries, rate-limited clients, blocked names and cache hits, appending
// the answer to dst. done is false when the query needs complete. A nil
// answer with done means: send nothing.
func (s *Server) begin(x *exchange, req, dst []byte) (resp []byte, done bool) {
	x.start = s.now()
	if c := s.met.byProto[x.cl.proto]; c != nil {
		c.Inc()
	}
	start := len(dst)
	if err := wire.ParseQuery(req, &x.q); err != nil {
		s.met.malformed.Inc()
		if errors.Is(err, wire.ErrHeader) || errors.Is(err, wire.ErrResponse) {
			return nil, true // never answer an answer: no loops, no reflection
		}
		id, fl, _ := wire.ParseHeaderID(req)
		rc := wire.RcodeFormErr
		if errors.Is(err, wire.ErrOpcode) {
			rc = wire.RcodeNotImp
		}
		return wire.AppendFormErr(dst, id, fl, rc), true
	}
	x.req = req
	x.st = s.state.Load()
	x.name, x.nameOK = wire.AppendName(x.nameBuf[:0], x.q.QName)
	if !s.limiter.Allow(x.cl.addr, x.start.UnixNano()) {
		s.met.limited.Inc()
		x.reason = "rate-limit"
		if x.cl.udp {
			s.logQuery(x, wire.RcodeRefused)
			return nil, true
		}
		return s.finish(x, wire.AppendError(dst, &x.q, req, wire.RcodeRefused), start), true
	}
	if x.q.QClass != dns.ClassINET || x.q.QType == wire.TypeAXFR || x.q.QType == wire.TypeIXFR {
		return s.finish(x, wire.AppendError(dst, &x.q, req, wire.RcodeRefused), start), true
	}
	x.groups = x.st.pol.ClientGroups(policy.Client{Addr: x.cl.addr, DoHPath: x.cl.dohPath, Name: x.cl.name})
	s.deviceGroups(x)
	// A cached answer with a verdict remembered for these groups, now, is
	// answered without asking the policy (see verdict); otherwise the
	// question name is decided first, as a blocked name is answered
	// without looking at the cache.
	x.key = wire.AppendKey(x.keyBuf[:0], &x.q)
	now := x.start.Unix()
	found := s.cache.Find(x.key)
	if found != nil && now < found.Expires {
		if vd := found.Meta.verdictFor(x.st.gen, x.groups, x.start.UnixNano()); vd != nil {
			x.e, x.cs = s.cache.Use(found, now) // Fresh or Prefetch: not expired at now
			s.hit(x)
			return s.answerWith(x, x.e, vd, dst), true
		}
	}
	if x.nameOK {
		a := x.st.at.NameBytes(attribute.DNSQuery, x.name)
		x.ent = a.Entity
		x.v = x.st.pol.DecideFor(x.groups, a, x.name, x.start)
		if x.v.Action != policy.Allow {
			x.reason = "qname"
		}
	}
	if x.v.Action == policy.Block {
		return s.finish(x, s.blocked(x, dst), start), true
	}
	x.e, x.cs = s.cache.Use(found, now)
	switch x.cs {
	case cache.Fresh, cache.Prefetch:
		s.hit(x)
		return s.answerFrom(x, x.e, dst, 0), true
	}
	return nil, false
}

// hit counts a cache hit and starts its prefetch.
func (s *Server) hit(x *exchange) {
	s.met.hit.Inc()
	if x.cs == cache.Prefetch {
		s.met.prefetch.Inc()
		s.prefetch(x)
	}
	x.cached = true
}

// complete answers a cache miss (or an expired entry) from the upstreams,
// serving the expired entry stale when they fail.
func (s *Server) complete(ctx context.Context, x *exchange, dst []byte) []byte {
	start := len(dst)
	e, err := s.resolve(ctx, x)
	if err != nil {
		if x.cs == cache.Expired && x.e != nil {
			s.met.stale.Inc()
			x.cached, x.stale = true, true
			return s.answerFrom(x, x.e, dst, uint32(max(s.cfg.Cache.StaleTTL/time.Second, 1)))
		}
		s.met.failClosed.Inc()
		return s.finish(x, wire.AppendError(dst, &x.q, x.req, wire.RcodeServFail), start)
	}
	s.met.miss.Inc()
	return s.answerFrom(x, e, dst, 0)
}

// answerFrom checks the parts of a stored answer against the policy and
// answers with it, or blocks.
func (s *Server) answerFrom(x *exchange, e *cache.Entry[*meta], dst []byte, staleTTL uint32) []byte {
	start := len(dst)
	for _, it := range s.checksFor(x.st, e.Meta).items {
		v := x.st.pol.DecideAnswer(x.groups, it.a, it.part.name, x.name, x.start)
		if v.Action > x.v.Action {
			x.v, x.ent, x.reason = v, it.a.Entity, it.part.reason
			if v.Action == policy.Block {
				break
			}
		}
	}
	s.rememberVerdict(x, e.Meta)
	if x.v.Action == policy.Block {
		return s.finish(x, s.blocked(x, dst), start)
	}
	resp := wire.AppendStored(dst, e.Msg, e.TTLs, &x.q, x.req, e.Age(x.start.Unix()), staleTTL)
	return s.finish(x, resp, start)
}

// answerWith answers a cache hit with a verdict remembered on its entry:
// answerFrom without the policy.
func (s *Server) answerWith(x *exchange, e *cache.Entry[*meta], vd *verdict, dst []byte) []byte {
	start := len(dst)
	x.v, x.ent, x.reason, x.vd = vd.v, vd.ent, vd.reason, vd
	if x.v.Action == policy.Block {
		return s.finish(x, s.blocked(x, dst), start)
	}
	resp := wire.AppendStored(dst, e.Msg, e.TTLs, &x.q, x.req, e.Age(x.start.Unix()), 0)
	return s.finish(x, resp, start)
}

// rememberVerdict keeps the verdict answerFrom just made on the entry,
// unless one for the same state, groups and interval is there (another
// worker's, made at the same time).
func (s *Server) rememberVerdict(x *exchange, m *meta) {
	t := x.start.UnixNano()
	if m.verdictFor(x.st.gen, x.groups, t) != nil {
		return
	}
	vd := &verdict{gen: x.st.gen, groups: x.groups, v: x.v, ent: x.ent, reason: x.reason,
		group: x.st.pol.GroupName(x.groups)}
	vd.from, vd.until = x.st.window(t)
	if x.v.Action != policy.Allow {
		entity := ""
		if x.ent != nil {
			entity = x.ent.ID
		}
		vd.count = s.met.verdictCounter(x.v.Action.String(), entity, vd.group)
	}
	m.remember(vd)
}

// checksFor returns the parts of an answer that the current policy could
// match, computing them once per entry and policy generation.
func (s *Server) checksFor(st *state, m *meta) *checked {
	if c := m.cur.Load(); c != nil && c.gen == st.gen {
		return c
	}
	c := &checked{gen: st.gen}
	for i := range m.parts {
		p := &m.parts[i]
		var a attribute.Attribution
		if p.name != nil {
			a = st.at.NameBytes(attribute.DNSAnswer, p.name)
		} else {
			if !s.cfg.Answers.CheckAddresses {
				continue
			}
			a = st.at.Addr(p.addr)
		}
		if st.pol.Relevant(a, p.name) {
			c.items = append(c.items, item{p, a})
		}
	}
	m.cur.Store(c)
	return c
}

// blocked appends the rule's answer for a blocked query.
func (s *Server) blocked(x *exchange, dst []byte) []byte {
	ans := x.v.Answer
	var a4 [4]byte
	var a16 [16]byte
	var addr []byte
	rcode := wire.RcodeNXDomain
	switch ans.Mode {
	case policy.Refused:
		rcode = wire.RcodeRefused
	case policy.Null:
		rcode = wire.RcodeSuccess
		if x.q.QType == wire.TypeA {
			addr = a4[:]
		} else if x.q.QType == wire.TypeAAAA {
			addr = a16[:]
		}
	case policy.BlockPage:
		rcode = wire.RcodeSuccess
		if x.q.QType == wire.TypeA && ans.V4.IsValid() {
			a4 = ans.V4.As4()
			addr = a4[:]
		} else if x.q.QType == wire.TypeAAAA && ans.V6.IsValid() {
			a16 = ans.V6.As16()
			addr = a16[:]
		}
	}
	id := ""
	if x.v.Rule != nil {
		id = x.v.Rule.ID
	}
	return wire.AppendBlocked(dst, &x.q, x.req, rcode, addr, uint32(s.cfg.Answers.BlockTTL/time.Second), wire.EDEBlocked, id)
}

// finish truncates a UDP answer to the client's size, counts and logs the
// query. start is where the answer begins in resp.
func (s *Server) finish(x *exchange, resp []byte, start int) []byte {
	if x.cl.udp && len(resp)-start > x.q.MaxUDP() {
		t := wire.Truncate(resp[start:], &x.q) // shorter: stays in resp's array
		resp = resp[:start+len(t)]
		s.met.truncated.Inc()
	}
	rcode := 0
	if len(resp) >= start+4 {
		rcode = int(resp[start+3] & 0xF)
	}
	s.logQuery(x, rcode)
	return resp
}

func (s *Server) logQuery(x *exchange, rcode int) {
	e := &x.entry
	e.Reset()
	e.Time, e.Client, e.Proto, e.Type, e.RCode = x.start, x.cl.addr, x.cl.proto, x.q.QType, uint16(rcode)
	e.Reason, e.Cached, e.Stale = x.reason, x.cached, x.stale
	if x.nameOK {
		e.SetName(x.name)
	} else {
		// Escaped, the name may not fit the entry: it keeps the wire form.
		e.SetWireName(x.q.QName)
	}
	if x.vd != nil {
		e.Group = x.vd.group
	} else if x.st != nil {
		e.Group = x.st.pol.GroupName(x.groups)
	}
	if x.st != nil && x.reason != "rate-limit" {
		e.Verdict = x.v.Action.String()
	}
	if x.v.Rule != nil {
		e.Rule = x.v.Rule.ID
		e.Deadline = x.v.Deadline
	}
	if x.ent != nil {
		e.Entity = x.ent.ID
	}
	end := s.now()
	e.Latency = end.Sub(x.start)
	s.met.latency.Observe(e.Latency.Seconds())
	if x.vd != nil {
		if x.vd.count != nil {
			x.vd.count.Inc()
		}
	} else if x.v.Action != policy.Allow {
		s.met.verdict(e.Verdict, e.Entity, e.Group)
	}
	s.qlog.Log(e)
}

// prefetch refreshes an entry in the background, if there is room.
func (s *Server) prefetch(x *exchange) {
	select {
	case s.pending <- struct{}{}:
	default:
		return
	}
	y := s.getExchange()
	y.cl, y.start, y.st = x.cl, x.start, x.st
	y.req = x.req
	y.own()
	y.key = append(y.keyBuf[:0], x.key...)
	go func() {
		defer func() { <-s.pending }()
		s.resolve(s.ctx, y)
		s.putExchange(y)
	}()
}

var errServFail = errors.New("resolver: upstream answered SERVFAIL")

type flight struct {
	done chan struct{}
	e    *cache.Entry[*meta]
	err  error
}

// flights collapses concurrent misses of one key into one upstream query.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// resolve asks the upstreams and caches the answer.
func (s *Server) resolve(ctx context.Context, x *exchange) (*cache.Entry[*meta], error) {
	key := string(x.key)
	s.flights.mu.Lock()
	if f, ok := s.flights.m[key]; ok {
		s.flights.mu.Unlock()
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	s.flights.m[key] = f
	s.flights.mu.Unlock()
	defer func() {
		s.flights.mu.Lock()
		delete(s.flights.m, key)
		s.flights.mu.Unlock()
		close(f.done)
	}()
	f.e, f.err = s.fetch(ctx, x, key)
	return f.e, f.err
}

func (s *Server) fetch(ctx context.Context, x *exchange, key string) (*cache.Entry[*meta], error) {
	var in dns.Msg
	if err := in.Unpack(x.req); err != nil || len(in.Question) != 1 {
		return nil, errors.New("resolver: query does not unpack")
	}
	q := in.Question[0]
	q.Name = strings.ToLower(q.Name)
	m := new(dns.Msg)
	m.Id = dns.Id()
	m.RecursionDesired = true
	m.CheckingDisabled = x.q.Flags&wire.FlagCD != 0
	m.Question = []dns.Question{q}
	m.SetEdns0(wire.ServerUDPSize, x.q.DO)
	r, _, err := s.pool.Exchange(ctx, m)
	if err != nil {
		return nil, err
	}
	if r.Rcode == dns.RcodeServerFailure {
		return nil, errServFail
	}
	e, ttl, err := s.entryOf(r, m.Question[0], key)
	if err != nil {
		return nil, err
	}
	if ttl > 0 && (r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError) {
		s.cache.Put(e, s.now().Unix())
	} else {
		e.Stored = s.now().Unix()
	}
	return e, nil
}

// entryOf turns an upstream answer into a cache entry: the message packed
// as stored (ID 0, lowercase question, no OPT), its TTL offsets, its TTL,
// and the parts the policy must check.
func (s *Server) entryOf(r *dns.Msg, q dns.Question, key string) (*cache.Entry[*meta], uint32, error) {
	r.Id = 0
	r.Question = []dns.Question{q}
	extra := r.Extra[:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	r.Extra = extra
	r.Compress = true
	packed, err := r.Pack()
	if err != nil {
		return nil, 0, err
	}
	ttls, err := wire.ScanTTLs(packed, nil)
	if err != nil {
		return nil, 0, err
	}
	mt := &meta{rcode: uint16(r.Rcode)}
	addName := func(reason, n string) {
		var buf [wire.MaxName + 1]byte
		b, ok := nameBytes(buf[:0], n)
		if ok {
			mt.parts = append(mt.parts, part{reason: reason, name: append([]byte(nil), b...)})
		}
	}
	addAddr := func(ip net.IP) {
		if a, ok := netip.AddrFromSlice(ip); ok {
			mt.parts = append(mt.parts, part{reason: "address", addr: a.Unmap()})
		}
	}
	svcb := func(v *dns.SVCB) {
		if v.Target != "." {
			addName("target", v.Target)
		}
		for _, kv := range v.Value {
			switch h := kv.(type) {
			case *dns.SVCBIPv4Hint:
				for _, ip := range h.Hint {
					addAddr(ip)
				}
			case *dns.SVCBIPv6Hint:
				for _, ip := range h.Hint {
					addAddr(ip)
				}
			}
		}
	}
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.CNAME:
			addName("cname", v.Target)
		case *dns.DNAME:
			addName("cname", v.Target)
		case *dns.SVCB:
			svcb(v)
		case *dns.HTTPS:
			svcb(&v.SVCB)
		case *dns.A:
			addAddr(v.A)
		case *dns.AAAA:
			addAddr(v.AAAA)
		}
	}
	negative := r.Rcode == dns.RcodeNameError || r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0
	ttl := uint32(1<<31 - 1)
	if negative {
		ttl = 30
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = min(soa.Hdr.Ttl, soa.Minttl)
			}
		}
	} else {
		for _, rr := range append(r.Answer, r.Ns...) {
			ttl = min(ttl, rr.Header().Ttl)
		}
	}
	ttl = s.cache.ClampTTL(ttl, negative)
	return &cache.Entry[*meta]{Key: key, Msg: packed, TTLs: ttls, TTL: ttl, Meta: mt}, ttl, nil
}

// nameBytes normalises a presentation-format name from miekg/dns
// ("www.Example.com.") for the catalog; names with escapes are skipped.
func nameBytes(dst []byte, n string) ([]byte, bool) {
	n = strings.TrimSuffix(n, ".")
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return dst, false
		}
		dst = append(dst, c)
	}
	return dst, len(dst) > 0
}
