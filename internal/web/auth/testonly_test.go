package auth

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// Len is the number of keys held.
func (b *Backoff) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}
