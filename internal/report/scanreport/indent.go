package scanreport

// appendIndent appends src, compact JSON as json.Encoder writes it (no
// white space but its final newline), indented as json.Indent indents it:
// the same bytes (FuzzAppendIndent compares the two). Written by hand
// because json.Indent runs its validating scanner's state machine, a call
// through a function value for every byte, which took more of a scan's
// CPU than encoding the report (BenchmarkIndent: several times slower);
// the encoder's output needs no validating.
func appendIndent(dst, src []byte, prefix, indent string) []byte {
	needIndent := false
	depth := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '"' {
			if needIndent {
				needIndent = false
				depth++
				dst = appendNewline(dst, prefix, indent, depth)
			}
			// the string whole, to its closing quote
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(src)-1)
			dst = append(dst, src[i:j+1]...)
			i = j
			continue
		}
		if needIndent && c != '}' && c != ']' {
			needIndent = false
			depth++
			dst = appendNewline(dst, prefix, indent, depth)
		}
		switch c {
		case '{', '[':
			// an empty object or array stays {} or []
			needIndent = true
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = appendNewline(dst, prefix, indent, depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if needIndent {
				needIndent = false
			} else {
				depth--
				dst = appendNewline(dst, prefix, indent, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendNewline(dst []byte, prefix, indent string, depth int) []byte {
	dst = append(dst, '\n')
	dst = append(dst, prefix...)
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}
