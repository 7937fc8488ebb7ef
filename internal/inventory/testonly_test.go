package inventory

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// Len is the number of interned strings.
func (in *Interner) Len() int { return len(in.m) }
