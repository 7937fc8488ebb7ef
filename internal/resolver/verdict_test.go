package resolver

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/wire"
)

// served is one query's outcome: the answer's bytes, the query log's
// entry, and whether a remembered verdict answered it.
type served struct {
	resp  []byte
	entry querylog.Entry
	fast  bool
}

// serve runs one query through the resolver as the TCP reader does
// (begin, then complete for a miss), without the network.
func (h *harness) serve(req []byte, cl client) served {
	x := h.srv.getExchange()
	defer h.srv.putExchange(x)
	x.cl = cl
	resp, done := h.srv.begin(x, req, nil)
	if !done {
		resp = h.srv.complete(context.Background(), x, resp)
	}
	return served{resp: append([]byte(nil), resp...), entry: x.entry, fast: x.vd != nil}
}

// forget drops the verdicts remembered on the cached answer to req, so
// that the next query takes the path that asks the policy.
func (h *harness) forget(req []byte) {
	var q wire.Query
	if wire.ParseQuery(req, &q) != nil {
		return
	}
	var kb [wire.MaxName + 8]byte
	if e := h.srv.cache.Find(wire.AppendKey(kb[:0], &q)); e != nil {
		for i := range e.Meta.verdicts {
			e.Meta.verdicts[i].Store(nil)
		}
	}
}

// TestRememberedVerdicts is the differential test of the hit path: every
// query is answered once by a remembered verdict (when the cache holds
// one) and once by asking the policy, and the two must give the same
// bytes and the same query log entry. The queries cover the test zone's
// names (allowed, blocked by name, by CNAME, by address, by an HTTPS
// target, excepted, group rules, block pages, truncated answers), in
// three letter cases, over UDP and TCP, with and without EDNS, DO, CD and
// RD, from three client groups; and the clock walks across the tiktok-ban
// rule's warning start and deadline, so that verdicts remembered before
// an edge must not answer after it.
func TestRememberedVerdicts(t *testing.T) {
	h := newHarnessSinks(t, testPolicy, func(c *Config) {
		c.RateLimit.Rate = 0
		c.Upstream.Timeout = 2 * time.Second
	}, false)
	deadline := time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)
	warn := deadline.Add(-30 * 24 * time.Hour)

	names := []string{"plain.example", "www.innocent.example", "status.tiktok.com", "bd-addr.example", "bd-addr6.example",
		"ali.example", "www.tiktok.com", "svc.example", "hint.example", "acme.example", "huawei.com", "pagetest.example",
		"nulltest.example", "big.example", "nxdomain.example"}
	cases := func(n string) []string {
		up := []byte(n)
		for i := range up {
			if i%2 == 0 && up[i] >= 'a' && up[i] <= 'z' {
				up[i] -= 'a' - 'A'
			}
		}
		return []string{n, string(up)}
	}
	var reqs [][]byte
	id := uint16(1)
	for _, n := range names {
		for _, name := range cases(n) {
			for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeTXT} {
				for flags := 0; flags < 4; flags++ {
					for _, edns := range []int{0, 512, 1232, -4096} { // negative: DO set
						m := msg(name, qt)
						m.Id = id
						id++
						m.RecursionDesired = flags&1 != 0
						m.CheckingDisabled = flags&2 != 0
						if edns != 0 {
							m.SetEdns0(uint16(max(edns, -edns)), edns < 0)
						}
						b, err := m.Pack()
						if err != nil {
							t.Fatal(err)
						}
						reqs = append(reqs, b)
					}
				}
			}
		}
	}
	clients := []client{
		{addr: loopback, proto: "udp", udp: true},
		{addr: netip.MustParseAddr("127.0.0.2"), proto: "udp", udp: true}, // guest
		{addr: loopback, proto: "tcp"},
		{addr: loopback, proto: "doh", dohPath: "/dns-query/kiosk"},
	}

	// The times: before the warning, across its start, across the
	// deadline; each within the zone's TTL (300 s) of the one before it,
	// so that the cached answers and their verdicts carry over.
	var times []time.Time
	for _, edge := range []time.Time{warn, deadline} {
		times = append(times, edge.Add(-100*time.Second), edge.Add(-time.Nanosecond), edge, edge.Add(time.Nanosecond), edge.Add(100*time.Second))
	}
	fast, slow, carried := 0, 0, 0
	for ti, now := range times {
		h.clock.Set(now)
		if ti%5 == 0 { // a new edge, days later: fill the cache again
			for _, req := range reqs {
				for _, cl := range clients {
					h.serve(req, cl)
				}
			}
		}
		// First every query with the verdicts remembered at the time
		// before (or for another query of the same entry), then each
		// asking the policy, then remembered again.
		first := make([]served, 0, len(reqs)*len(clients))
		for _, req := range reqs {
			for _, cl := range clients {
				first = append(first, h.serve(req, cl))
			}
		}
		for i, req := range reqs {
			for j, cl := range clients {
				a := first[i*len(clients)+j]
				h.forget(req)
				b := h.serve(req, cl)
				c := h.serve(req, cl)
				if b.fast {
					t.Fatalf("answered from a remembered verdict after forget")
				}
				compare := []served{c}
				if a.entry.Cached && !a.entry.Stale {
					// a found the entry b and c did (not a miss that
					// fetched it again): it must answer alike.
					compare = append(compare, a)
				}
				for _, o := range compare {
					if o.fast {
						fast++
					} else {
						slow++
					}
					if string(o.resp) != string(b.resp) {
						t.Fatalf("%v, %s from %+v (remembered %v): answer differs\n got %x\nwant %x", now, question(req), cl, o.fast, o.resp, b.resp)
					}
					if o.entry != b.entry {
						t.Fatalf("%v, %s from %+v (remembered %v): query log differs\n got %s\nwant %s", now, question(req), cl, o.fast,
							querylog.AppendJSON(nil, &o.entry), querylog.AppendJSON(nil, &b.entry))
					}
				}
				if b.entry.Cached && b.entry.Reason != "qname" && b.entry.Verdict != "" && !c.fast {
					t.Fatalf("%v, %s from %+v: a cache hit not answered from its remembered verdict", now, question(req), cl)
				}
				if a.fast && ti%5 != 0 {
					carried++
				}
			}
		}
	}
	if fast == 0 || slow == 0 || carried == 0 {
		t.Fatalf("remembered %d (%d made at an earlier time), asked %d: both paths must be compared", fast, carried, slow)
	}
	t.Logf("%d queries compared: %d answered from remembered verdicts, %d of them made at an earlier time", fast+slow, fast, carried)
}

func question(req []byte) string {
	var m dns.Msg
	if m.Unpack(req) != nil || len(m.Question) == 0 {
		return fmt.Sprintf("%x", req)
	}
	return fmt.Sprintf("%s %s rd=%v cd=%v edns=%v", m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], m.RecursionDesired, m.CheckingDisabled, m.IsEdns0())
}

// TestRuleEdges holds state.window to the instants at which Decide
// changes its mind: the verdict for a name is the same at every instant
// of a window, checked at its ends and next to them.
func TestRuleEdges(t *testing.T) {
	h := newHarnessSinks(t, testPolicy, nil, false)
	st := h.srv.state.Load()
	deadline := time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)
	warn := deadline.Add(-30 * 24 * time.Hour)
	if len(st.edges) != 2 || st.edges[0] != warn.UnixNano() || st.edges[1] != deadline.UnixNano() {
		t.Fatalf("edges %v, want the warning start and the deadline", st.edges)
	}
	for _, tc := range []struct {
		at          time.Time
		from, until int64
	}{
		{warn.Add(-time.Hour), math.MinInt64, warn.UnixNano()},
		{warn, warn.UnixNano(), deadline.UnixNano()},
		{deadline.Add(-1), warn.UnixNano(), deadline.UnixNano()},
		{deadline, deadline.UnixNano(), math.MaxInt64},
	} {
		from, until := st.window(tc.at.UnixNano())
		if from != tc.from || until != tc.until {
			t.Errorf("window(%v) = [%d, %d), want [%d, %d)", tc.at, from, until, tc.from, tc.until)
		}
	}
	// The policy agrees: one verdict across each window, another across
	// each edge.
	name := []byte("www.tiktok.com")
	a := st.at.NameBytes(attribute.DNSQuery, name)
	decide := func(t int64) string {
		return st.pol.DecideFor(st.pol.ClientGroups(policy.Client{Addr: loopback}), a, name, time.Unix(0, t)).Action.String()
	}
	for _, e := range st.edges {
		if decide(e-1) == decide(e) {
			t.Errorf("edge %v: the verdict is %s on both sides", time.Unix(0, e).UTC(), decide(e))
		}
	}
}

// TestRememberedVerdictsReload: a verdict remembered under one policy
// does not answer under the next.
func TestRememberedVerdictsReload(t *testing.T) {
	h := newHarnessSinks(t, testPolicy, func(c *Config) { c.RateLimit.Rate = 0 }, false)
	m := msg("plain.example", dns.TypeA)
	req, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	cl := client{addr: loopback, proto: "udp", udp: true}
	h.serve(req, cl)
	if o := h.serve(req, cl); !o.fast || rcodeOf(o.resp) != dns.RcodeSuccess {
		t.Fatalf("before the reload: remembered %v, rcode %d", o.fast, rcodeOf(o.resp))
	}
	policy := testPolicy + `
  - id: plain
    action: block
    names: [plain.example]
`
	if err := os.WriteFile(h.policyPath, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		// The name is blocked before the cache is looked at: never from
		// a remembered verdict.
		o := h.serve(req, cl)
		if o.fast || rcodeOf(o.resp) != dns.RcodeNameError || o.entry.Rule != "plain" {
			t.Fatalf("after the reload, query %d: remembered %v, rcode %d, rule %q", i, o.fast, rcodeOf(o.resp), o.entry.Rule)
		}
	}
}
