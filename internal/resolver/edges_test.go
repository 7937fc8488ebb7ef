package resolver

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/policy"
)

// TestRuleEdgesExceptUntil: the end of a rule's exceptions is an instant
// at which its verdict changes, so a remembered verdict must not outlive
// it (an exempt client is blocked from then on).
func TestRuleEdgesExceptUntil(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte("rules:\n  - id: r\n    action: block\n    names: example.com\n    except:\n      clients: [10.0.0.7]\n      until: 2026-06-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	st := &state{pol: p, edges: ruleEdges(p)}
	if from, to := st.window(until - 1); to != until || from > until-1 {
		t.Fatalf("window before the end of the exception: [%d, %d), want it to end at %d", from, to, until)
	}
	if from, _ := st.window(until); from != until {
		t.Fatalf("window after the end of the exception starts at %d, want %d", from, until)
	}
}
