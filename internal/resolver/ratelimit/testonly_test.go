package ratelimit

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// Limited is the number of queries refused since the limiter was made.
func (l *Limiter) Limited() uint64 {
	if l == nil {
		return 0
	}
	return l.limited.Load()
}
