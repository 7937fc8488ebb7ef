package axml

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// IsExported applies Android's rules to the declared flag: explicit value
// wins; otherwise providers are exported when targetSdk < 17 and other
// components when they have an intent filter.
func (c Component) IsExported(targetSDK int) bool {
	if c.Exported != nil {
		return *c.Exported
	}
	if c.Kind == "provider" {
		return targetSDK < 17
	}
	return len(c.IntentFilters) > 0
}

// Walk calls fn for e and every descendant, depth first, parents first.
func (e *Element) Walk(fn func(*Element)) {
	if e == nil {
		return
	}
	// Iterative, so a deep tree cannot exhaust the stack.
	stack := []*Element{e}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(n)
		for i := len(n.Children) - 1; i >= 0; i-- {
			stack = append(stack, n.Children[i])
		}
	}
}
