// Package policyfile edits a policy file as text for the dashboard: the
// groups and rules its forms add, appended to the YAML document, or
// change and delete, rewriting only that item's lines, so that the
// comments and order of the rest stay as written; the unified diff of a
// change for the history; and the revert of an older change as a
// three-way merge over the same line diff. Parsing and checking stay in
// internal/policy.
//
// The line diff is hand-written (a longest common subsequence over
// lines): policies are a few hundred lines, and no module the project
// already depends on offers one outside tests (go-cmp is test-only).
//
// It must never import a store, a command or the dashboard.
package policyfile

import (
	"fmt"
	"strings"
)

// maxCells bounds the diff's table (lines before × lines after): past
// it, the whole file is shown as replaced rather than spending seconds
// and gigabytes on a file of a million lines.
const maxCells = 16 << 20

// context is the number of unchanged lines shown around each change.
const context = 3

// Diff is the unified diff of a to b, both named name; "" when they are
// equal.
func Diff(name, a, b string) string {
	if a == b {
		return ""
	}
	x, y := lines(a), lines(b)
	ops := script(x, y)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", name, name)
	// Hunks: runs of changes with context lines around them.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			// a run of equal lines: the hunk ends unless another change
			// follows within twice the context
			j := end
			for j < len(ops) && ops[j].kind == ' ' {
				j++
			}
			if j == len(ops) || j-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = j
		}
		ax, bx, an, bn := ops[start].ai, ops[start].bi, 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				an++
			}
			if o.kind != '-' {
				bn++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", span(ax, an), span(bx, bn))
		for _, o := range ops[start:end] {
			sb.WriteByte(o.kind)
			sb.WriteString(o.line)
			sb.WriteByte('\n')
		}
		i = end
	}
	return sb.String()
}

// span is a hunk's "start,count" (1-based; an empty range names the line
// before it, as diff -u does).
func span(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type op struct {
	kind   byte // ' ', '-', '+'
	line   string
	ai, bi int // position in a and b before this line
}

// script is the edit script of x to y by longest common subsequence.
func script(x, y []string) []op {
	// the common head and tail cost nothing
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	var out []op
	for i := range pre {
		out = append(out, op{' ', x[i], i, i})
	}
	n, m := len(mx), len(my)
	if n*m > maxCells {
		for i, l := range mx {
			out = append(out, op{'-', l, pre + i, pre})
		}
		for j, l := range my {
			out = append(out, op{'+', l, pre + n, pre + j})
		}
	} else {
		// lcs[i][j]: the longest common subsequence of mx[i:] and my[j:]
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if mx[i] == my[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && mx[i] == my[j]:
				out = append(out, op{' ', mx[i], pre + i, pre + j})
				i, j = i+1, j+1
			case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
				out = append(out, op{'-', mx[i], pre + i, pre + j})
				i++
			default:
				out = append(out, op{'+', my[j], pre + i, pre + j})
				j++
			}
		}
	}
	for k := range suf {
		i, j := len(x)-suf+k, len(y)-suf+k
		out = append(out, op{' ', x[i], i, j})
	}
	return out
}
