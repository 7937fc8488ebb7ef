// Package querylogsink writes the resolver's query log into the store: it
// implements querylog.Sink over a store.Writer, and turns the JSON-lines
// records of a recorded log into store rows for import.
//
// It joins the query log (a source) to the store (a sink); it must never
// import the resolver, a command or a renderer.
package querylogsink

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/store"
)

// Sink is a querylog.Sink that writes each batch of entries to a store in
// one Write. Entries the logger writes about itself (shed counts) are not
// queries and are skipped. Close does not close the store: whoever opened
// it does.
type Sink struct {
	w store.Writer
	b store.Batch
	// entity describes an entity the first time a query names it, so that
	// the store has its name, jurisdictions and lists even when no flow
	// to it was ever seen (a ban the devices obeyed).
	entity func(id string) (store.Entity, bool)
	known  map[string]bool
}

var _ querylog.Sink = (*Sink)(nil)

// New returns a sink writing to w.
func New(w store.Writer) *Sink { return &Sink{w: w} }

// WithEntities makes the sink store the record of each entity (from the
// catalog, say) the first time a query names it. Without it the store
// knows a query's entity by its ID alone.
func (s *Sink) WithEntities(entity func(id string) (store.Entity, bool)) *Sink {
	s.entity, s.known = entity, map[string]bool{}
	return s
}

// Write stores a batch of entries; it keeps nothing of them.
func (s *Sink) Write(batch []querylog.Entry) error {
	s.b.Reset()
	for i := range batch {
		e := &batch[i]
		if e.Shed > 0 {
			continue
		}
		s.b.Queries = append(s.b.Queries, FromEntry(e))
		if s.entity != nil && e.Entity != "" && !s.known[e.Entity] {
			// The set is bounded by the catalog's entities.
			s.known[e.Entity] = true
			if se, ok := s.entity(e.Entity); ok {
				s.b.Entities = append(s.b.Entities, se)
			}
		}
	}
	if len(s.b.Queries) == 0 {
		return nil
	}
	// The logger has no context to give; a store write is bounded by
	// SQLite's busy timeout.
	return s.w.Write(ctxBackground, &s.b)
}

// Close does nothing; the store belongs to the caller.
func (s *Sink) Close() error { return nil }

// FromEntry is the store row of a query-log entry.
func FromEntry(e *querylog.Entry) store.Query {
	q := store.Query{Time: e.Time, Group: e.Group, Proto: e.Proto, Name: e.Name(), Type: e.Type, RCode: e.RCode,
		Verdict: e.Verdict, Rule: e.Rule, Entity: e.Entity, Reason: e.Reason, Deadline: e.Deadline, Latency: e.Latency, Cached: e.Cached}
	if e.Client.IsValid() {
		q.Client = e.Client.Unmap().String()
	}
	return q
}

// FromRecord is the store row of a record read back from a JSON-lines
// log. ok is false for records that are not queries (shed counts).
func FromRecord(r *querylog.Record) (q store.Query, ok bool, err error) {
	if r.Shed > 0 || r.Name == "" && r.Client == "" {
		return q, false, nil
	}
	q = store.Query{Time: r.Time, Client: r.Client, Group: r.Group, Proto: r.Proto, Name: r.Name, Verdict: r.Verdict,
		Rule: r.Rule, Entity: r.Entity, Reason: r.Reason, Latency: time.Duration(r.LatencyUS) * time.Microsecond, Cached: r.Cached}
	if q.Time.IsZero() {
		return q, false, fmt.Errorf("query log record for %q has no time", r.Name)
	}
	if q.Client == "" {
		q.Client = "unknown"
	}
	if t, ok := dns.StringToType[strings.ToUpper(r.Type)]; ok {
		q.Type = t
	} else if n, ok := strings.CutPrefix(strings.ToUpper(r.Type), "TYPE"); ok {
		if v, err := strconv.ParseUint(n, 10, 16); err == nil {
			q.Type = uint16(v)
		}
	}
	if c, ok := dns.StringToRcode[strings.ToUpper(r.RCode)]; ok {
		q.RCode = uint16(c)
	} else if v, err := strconv.ParseUint(r.RCode, 10, 16); err == nil {
		q.RCode = uint16(v)
	}
	if r.Deadline != "" {
		d, err := time.Parse(time.RFC3339, r.Deadline)
		if err != nil {
			return q, false, fmt.Errorf("query log record for %q: deadline %q: %w", r.Name, r.Deadline, err)
		}
		q.Deadline = d
	}
	return q, true, nil
}
