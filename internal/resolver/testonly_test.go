package resolver

import "github.com/outflow-dev/outflow/internal/resolver/querylog"

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// QueryLog reads the query log's counters.
func (s *Server) QueryLog() querylog.Counters { return s.qlog.Counters() }
