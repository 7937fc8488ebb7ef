package inventory

// JSONDepth follows the nesting of JSON text one byte at a time, strings
// and their escapes included, so that a reader can find where a value
// ends without decoding it (the iOS and osquery readers cut their input
// into objects this way).
type JSONDepth struct {
	depth      int
	inStr, esc bool
}

// Step takes the next byte and reports whether it closed the outermost
// object or array.
func (j *JSONDepth) Step(c byte) bool {
	switch {
	case j.inStr:
		switch {
		case j.esc:
			j.esc = false
		case c == '\\':
			j.esc = true
		case c == '"':
			j.inStr = false
		}
	case c == '"':
		j.inStr = true
	case c == '{' || c == '[':
		j.depth++
	case c == '}' || c == ']':
		j.depth--
		return j.depth == 0
	}
	return false
}
