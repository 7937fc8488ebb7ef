package querylog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Record is an entry as read back from JSON lines.
type Record struct {
	Time      time.Time `json:"time"`
	Client    string    `json:"client"`
	Proto     string    `json:"proto"`
	Group     string    `json:"group"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	RCode     string    `json:"rcode"`
	Verdict   string    `json:"verdict"`
	Rule      string    `json:"rule"`
	Entity    string    `json:"entity"`
	Reason    string    `json:"reason"`
	Deadline  string    `json:"deadline"`
	LatencyUS int64     `json:"latency_us"`
	Cached    bool      `json:"cached"`
	Stale     bool      `json:"stale"`
	Shed      uint64    `json:"shed"`
}

// MaxLine bounds one line of a query log.
const MaxLine = 64 << 10

// Read calls fn for each record of a JSON-lines query log. Lines that do
// not parse (a crash can leave a partial last line) are counted and
// skipped; fn's error stops the read.
func Read(r io.Reader, fn func(*Record) error) (bad int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		rec, err := ParseRecord(b)
		if err != nil {
			bad++
			continue
		}
		if err := fn(&rec); err != nil {
			return bad, err
		}
	}
	if err := sc.Err(); err != nil {
		return bad, fmt.Errorf("query log: line %d: %w", line+1, err)
	}
	return bad, nil
}

// ParseRecord decodes one line of a JSON-lines query log (without its
// newline), as Read does: for a log followed as it grows.
func ParseRecord(b []byte) (Record, error) {
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, fmt.Errorf("query log: %w", err)
	}
	if rec.Time.IsZero() {
		return Record{}, errors.New("query log: record without a time")
	}
	return rec, nil
}

// Asker is one client asking for names a rule covers.
type Asker struct {
	Client    string    `json:"client"`
	Group     string    `json:"group,omitempty"`
	Rule      string    `json:"rule"`
	Entity    string    `json:"entity,omitempty"` // the last entity matched
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Monitored int       `json:"monitored,omitempty"`
	Due       int       `json:"due,omitempty"`     // answered before the deadline
	Blocked   int       `json:"blocked,omitempty"` // refused: asked after the deadline
	Deadline  string    `json:"deadline,omitempty"`
	LastBlock time.Time `json:"last_blocked,omitzero"`
	Names     []string  `json:"names"` // up to five names asked
}

// AfterDeadline reports a client still asking once the rule was in force.
func (a *Asker) AfterDeadline() bool { return a.Blocked > 0 }

// Stats aggregates records into askers.
type Stats struct {
	Since, Until time.Time // bounds (zero: none)
	Queries      int
	Shed         uint64
	Bad          int
	askers       map[[2]string]*Asker
}

// Add counts one record.
func (s *Stats) Add(r *Record) {
	if !s.Since.IsZero() && r.Time.Before(s.Since) || !s.Until.IsZero() && !r.Time.Before(s.Until) {
		return
	}
	if r.Shed > 0 {
		s.Shed += r.Shed
		return
	}
	s.Queries++
	if r.Verdict != "monitor" && r.Verdict != "due" && r.Verdict != "block" {
		return
	}
	if s.askers == nil {
		s.askers = map[[2]string]*Asker{}
	}
	k := [2]string{r.Client, r.Rule}
	a := s.askers[k]
	if a == nil {
		a = &Asker{Client: r.Client, Group: r.Group, Rule: r.Rule, First: r.Time, Last: r.Time}
		s.askers[k] = a
	}
	if r.Time.Before(a.First) {
		a.First = r.Time
	}
	if r.Time.After(a.Last) {
		a.Last = r.Time
	}
	if r.Entity != "" {
		a.Entity = r.Entity
	}
	if r.Deadline != "" {
		a.Deadline = r.Deadline
	}
	switch r.Verdict {
	case "monitor":
		a.Monitored++
	case "due":
		a.Due++
	case "block":
		a.Blocked++
		if r.Time.After(a.LastBlock) {
			a.LastBlock = r.Time
		}
	}
	if len(a.Names) < 5 {
		for _, n := range a.Names {
			if n == r.Name {
				return
			}
		}
		a.Names = append(a.Names, r.Name)
	}
}

// Askers are the clients that asked for names under a rule, those still
// asking after the deadline first, then by most recent.
func (s *Stats) Askers() []*Asker {
	out := make([]*Asker, 0, len(s.askers))
	for _, a := range s.askers {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.AfterDeadline() != b.AfterDeadline() {
			return a.AfterDeadline()
		}
		if !a.Last.Equal(b.Last) {
			return a.Last.After(b.Last)
		}
		if a.Client != b.Client {
			return a.Client < b.Client
		}
		return a.Rule < b.Rule
	})
	return out
}
