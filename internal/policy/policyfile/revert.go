package policyfile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrConflict is a revert whose lines were changed again since.
var ErrConflict = errors.New("later changes touch the same lines")

// Revert undoes the change before → after in cur, a later version of
// after, as a three-way merge with after as the base: the change's
// reverse (after → before) and what happened since (after → cur) are
// both applied when no line of after is changed by both. A change that
// touches a line the other also changes, or inserts inside it, or both
// inserting at one place, is a conflict (ErrConflict, naming the line of
// cur); changes that only meet at a line boundary are not, unless one
// inserts lines that nest under the other's (see clash). When cur is
// still after, the result is before exactly.
func Revert(before, after, cur string) (string, error) {
	if cur == after {
		return before, nil
	}
	base := lines(after)
	undo, since := hunks(base, lines(before)), hunks(base, lines(cur))
	all := slices.Clone(since)
	for _, u := range undo {
		dup := false
		for _, s := range since {
			if s.start == u.start && s.end == u.end && slices.Equal(s.lines, u.lines) {
				dup = true // the same edit made again: once is enough
				break
			}
			if clash(u, s, base) {
				return "", fmt.Errorf("line %d of the change: %w", s.curAt+1, ErrConflict)
			}
		}
		if !dup {
			all = append(all, u)
		}
	}
	slices.SortStableFunc(all, func(a, b hunk) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end)) })
	var out []string
	pos := 0
	for _, h := range all {
		out = append(out, base[pos:h.start]...)
		out = append(out, h.lines...)
		pos = h.end
	}
	out = append(out, base[pos:]...)
	if len(out) == 0 {
		return "", nil
	}
	return strings.Join(out, "\n") + "\n", nil
}

// hunk replaces base[start:end] with lines; curAt is where the hunk's
// text begins in the other version.
type hunk struct {
	start, end int
	lines      []string
	curAt      int
}

// hunks are the runs of changes that turn base into other, in base's
// line numbers.
func hunks(base, other []string) []hunk {
	var out []hunk
	ops := script(base, other)
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		h := hunk{start: ops[i].ai, end: ops[i].ai, curAt: ops[i].bi}
		for ; i < len(ops) && ops[i].kind != ' '; i++ {
			if ops[i].kind == '-' {
				h.end++
			} else {
				h.lines = append(h.lines, ops[i].line)
			}
		}
		out = append(out, h)
	}
	return out
}

// clash says whether two hunks of base touch the same lines: ranges
// that overlap, an insertion strictly inside the other's range, two
// insertions at one place (whose order no one chose), or an insertion
// just after the other's range that is indented deeper than the range's
// first line: in YAML those lines belong to what the range holds (an
// except: added to the rule the revert deletes), while a sibling (the
// next rule appended after it) does not.
func clash(a, b hunk, base []string) bool {
	switch {
	case a.start == a.end && b.start == b.end:
		return a.start == b.start
	case a.start == a.end:
		return b.start < a.start && a.start < b.end || a.start == b.end && nested(a.lines, base[b.start:b.end])
	case b.start == b.end:
		return a.start < b.start && b.start < a.end || b.start == a.end && nested(b.lines, base[a.start:a.end])
	}
	return a.start < b.end && b.start < a.end
}

// nested says whether the inserted lines sit deeper than the first line
// of the range they follow.
func nested(ins, rng []string) bool {
	in, ok := indent(ins)
	if !ok {
		return false // blank lines and comments only
	}
	out, _ := indent(rng)
	return in > out
}

// indent is the indentation of the first line that is neither blank nor
// a comment.
func indent(ls []string) (int, bool) {
	for _, l := range ls {
		if !isBlankOrComment(l) {
			return len(l) - len(strings.TrimLeft(l, " ")), true
		}
	}
	return 0, false
}
