package resolver

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
)

// gateSink holds every write until the test lets one through: a disk
// that cannot keep up. It comes after the JSON-lines file in the sinks,
// so while it holds a batch, that batch is in the file, as a kill -9
// would leave it.
type gateSink struct {
	entered chan heldBatch // each batch that arrives
	pass    chan struct{}  // lets one through
}

type heldBatch struct {
	queries int
	shed    uint64
}

func (g *gateSink) Write(b []querylog.Entry) error {
	var hb heldBatch
	for i := range b {
		if b[i].Shed > 0 {
			hb.shed += b[i].Shed
		} else {
			hb.queries++
		}
	}
	g.entered <- hb
	<-g.pass
	return nil
}

func (g *gateSink) Close() error { return nil }

// readLog sums the JSON-lines file as `resolve stats` reads it.
func readLog(t *testing.T, path string) (queries int, shed uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := querylog.Read(f, func(r *querylog.Record) error {
		if r.Shed > 0 {
			shed += r.Shed
		} else {
			queries++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return queries, shed
}

// TestShedIsDurableWithEachBatch is issue 10's kill -9 probe: under
// sustained overload the writer never finds the ring empty, and the shed
// count used to wait for that. Now each batch written after entries were
// shed carries their count, so what is on disk after any write accounts
// for every query answered before it, but those still in the ring.
func TestShedIsDurableWithEachBatch(t *testing.T) {
	path := t.TempDir() + "/q.jsonl"
	gate := &gateSink{entered: make(chan heldBatch), pass: make(chan struct{})}
	h := newHarnessWith(t, testPolicy, func(c *Config) {
		c.QueryLog.Path = path
		c.QueryLog.Buffer, c.QueryLog.Batch, c.QueryLog.Flush = 16, 4, time.Millisecond
		c.RateLimit.Rate = 0
	}, gate)

	answered := 0
	conn, err := net.Dial("udp", h.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &dns.Conn{Conn: conn}
	burst := func(n int) {
		for i := 0; i < n; i++ {
			m := msg("www.tiktok.com", dns.TypeA) // blocked: answered without an upstream
			if err := c.WriteMsg(m); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.ReadMsg(); err != nil {
				t.Fatalf("query %d: %v", answered, err)
			}
			answered++
		}
	}
	burst(1)
	<-gate.entered // the writer is now stuck behind the slow sink
	for round := 0; round < 5; round++ {
		burst(40) // fills the ring of 16; the rest is shed
		gate.pass <- struct{}{}
		held := <-gate.entered // the next batch is in the file; the writer is held again
		queries, shed := readLog(t, path)
		// The held batch is in the file and still counted in the ring.
		inRing := h.srv.QueryLog().Queued - held.queries
		if got := queries + int(shed) + inRing; got != answered {
			t.Errorf("round %d: on disk %d queries + %d shed, %d more in the ring: accounts for %d of %d answered",
				round, queries, shed, inRing, got, answered)
		}
		if held.shed == 0 {
			t.Errorf("round %d: the batch written after %d answers with a ring of 16 carries no shed count", round, answered)
		}
	}
	// Let the writer go: Close drains the ring and the last shed count.
	go func() {
		gate.pass <- struct{}{}
		for range gate.entered {
			gate.pass <- struct{}{}
		}
	}()
	h.srv.Close()
	queries, shed := readLog(t, path)
	if queries+int(shed) != answered {
		t.Errorf("after Close: %d queries + %d shed on disk, %d answered", queries, shed, answered)
	}
	close(gate.entered)
}
